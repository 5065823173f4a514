import { describe, expect, it } from 'vitest';
import { rocCurveSvg, signedBars, sparkline, svgDataUrl } from '../src/charts.js';
import { confusionMatrix, evaluate, logLoss, rocAuc, rocCurve } from '../src/metrics.js';

describe('metrics', () => {
  it('computes AUC as the chance a positive outranks a negative, ties counting half', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBe(1);
    expect(rocAuc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1])).toBe(0);
    expect(rocAuc([0, 1], [0.5, 0.5])).toBe(0.5);
    // Pairs (positive, negative): (0.35,0.1) ✓ (0.35,0.4) ✗ (0.8,0.1) ✓ (0.8,0.4) ✓ → 3/4.
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    expect(() => rocAuc([1, 1], [0.1, 0.2])).toThrow(/both classes/);
  });

  it('counts the confusion matrix at the threshold, a score equal to it predicting positive', () => {
    expect(confusionMatrix([1, 1, 0, 0], [0.5, 0.2, 0.7, 0.1], 0.5)).toEqual({
      truePositives: 1,
      falseNegatives: 1,
      falsePositives: 1,
      trueNegatives: 1,
    });
  });

  it('traces the ROC curve from (0,0) to (1,1)', () => {
    const curve = rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(curve[0]).toEqual({ fpr: 0, tpr: 0 });
    expect(curve[curve.length - 1]).toEqual({ fpr: 1, tpr: 1 });
    expect(curve).toHaveLength(5);
  });

  it('derives accuracy, precision, recall and F1 from the same predictions', () => {
    const result = evaluate([1, 1, 1, 0, 0], [0.9, 0.8, 0.1, 0.7, 0.2], 0.5);
    expect(result.accuracy).toBeCloseTo(3 / 5);
    expect(result.precision).toBeCloseTo(2 / 3);
    expect(result.recall).toBeCloseTo(2 / 3);
    expect(result.f1).toBeCloseTo(2 / 3);
    expect(result.positiveRate).toBeCloseTo(3 / 5);
    expect(logLoss([1], [1])).toBeLessThan(1e-9);
    expect(() => evaluate([1], [0.5, 0.2], 0.5)).toThrow(/1 labels but 2 scores/);
  });
});

describe('charts', () => {
  it('draws a sparkline from the lowest to the highest block', () => {
    expect(sparkline([3, 2, 1, 0])).toBe('█▆▃▁');
    expect(
      sparkline(
        Array.from({ length: 500 }, (_, i) => i),
        40,
      ),
    ).toHaveLength(40);
  });

  it('draws signed bars on either side of a centre line', () => {
    const [up, down] = signedBars(
      [
        { label: 'a', value: 2 },
        { label: 'bb', value: -1 },
      ],
      4,
    );
    expect(up).toBe('a      │████ +2.000');
    expect(down).toBe('bb   ██│     -1.000');
  });

  it('renders the ROC curve as an SVG carried whole in a data URL', () => {
    const svg = rocCurveSvg(
      [
        { fpr: 0, tpr: 0 },
        { fpr: 0.5, tpr: 1 },
        { fpr: 1, tpr: 1 },
      ],
      0.75,
    );
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('AUC 0.750');
    const url = svgDataUrl(svg);
    expect(url.startsWith('data:image/svg+xml;base64,')).toBe(true);
    expect(Buffer.from(url.split(',')[1] ?? '', 'base64').toString('utf8')).toBe(svg);
  });
});

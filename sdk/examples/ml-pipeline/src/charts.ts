/** Small charts that need no browser or library: SVG for images, Unicode blocks for text. */

const SPARK = '▁▂▃▄▅▆▇█';

/** A one-line trend, e.g. a training-loss curve: `█▆▄▃▂▂▁▁`. */
export function sparkline(values: readonly number[], width = 40): string {
  if (values.length === 0) return '';
  const sampled =
    values.length <= width
      ? values
      : Array.from({ length: width }, (_, i) => values[Math.round((i * (values.length - 1)) / (width - 1))] as number);
  const min = Math.min(...sampled);
  const span = Math.max(...sampled) - min || 1;
  return sampled.map((v) => SPARK[Math.round(((v - min) / span) * (SPARK.length - 1))]).join('');
}

/**
 * Horizontal bars for signed values, drawn around a centre line so negative and positive effects
 * read at a glance. Returns plain lines; wrap them in a code block for markdown.
 */
export function signedBars(items: readonly { label: string; value: number }[], halfWidth = 20): string[] {
  const labelWidth = Math.max(...items.map((item) => item.label.length), 0);
  const scale = Math.max(...items.map((item) => Math.abs(item.value)), Number.EPSILON);
  return items.map(({ label, value }) => {
    const length = Math.round((Math.abs(value) / scale) * halfWidth);
    const left = value < 0 ? `${' '.repeat(halfWidth - length)}${'█'.repeat(length)}` : ' '.repeat(halfWidth);
    const right = value > 0 ? '█'.repeat(length).padEnd(halfWidth) : ' '.repeat(halfWidth);
    const sign = value >= 0 ? '+' : '-';
    return `${label.padEnd(labelWidth)} ${left}│${right} ${sign}${Math.abs(value).toFixed(3)}`;
  });
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The ROC curve with its diagonal and the AUC in the title, as a standalone SVG document. */
export function rocCurveSvg(points: readonly { fpr: number; tpr: number }[], auc: number, size = 320): string {
  const pad = 40;
  const inner = size - 2 * pad;
  const x = (fpr: number) => (pad + fpr * inner).toFixed(1);
  const y = (tpr: number) => (size - pad - tpr * inner).toFixed(1);
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.fpr)},${y(p.tpr)}`).join(' ');
  const title = escapeXml(`ROC curve (AUC ${auc.toFixed(3)})`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" font-family="sans-serif" font-size="11">`,
    `<rect width="${size}" height="${size}" fill="white"/>`,
    `<text x="${size / 2}" y="20" text-anchor="middle" font-size="13">${title}</text>`,
    `<rect x="${pad}" y="${pad}" width="${inner}" height="${inner}" fill="none" stroke="#999"/>`,
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#bbb" stroke-dasharray="4 4"/>`,
    `<path d="${path}" fill="none" stroke="#2563eb" stroke-width="2"/>`,
    `<text x="${size / 2}" y="${size - 10}" text-anchor="middle">false positive rate</text>`,
    `<text x="12" y="${size / 2}" text-anchor="middle" transform="rotate(-90 12 ${size / 2})">true positive rate</text>`,
    '</svg>',
  ].join('\n');
}

/** An SVG as a `data:` URL, so a link or markdown image carries the whole chart with it. */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
}

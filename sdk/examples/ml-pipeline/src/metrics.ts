export interface ConfusionMatrix {
  truePositives: number;
  falsePositives: number;
  trueNegatives: number;
  falseNegatives: number;
}

export interface Evaluation {
  rows: number;
  /** Fraction of rows with label 1. */
  positiveRate: number;
  threshold: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  auc: number;
  logLoss: number;
  confusion: ConfusionMatrix;
  /** ROC curve from (0,0) to (1,1), one point per distinct score. */
  roc: { fpr: number; tpr: number }[];
}

function checkInputs(labels: readonly number[], scores: readonly number[]): void {
  if (labels.length !== scores.length) throw new RangeError(`${labels.length} labels but ${scores.length} scores`);
  if (labels.length === 0) throw new RangeError('metrics need at least one row');
}

export function confusionMatrix(labels: readonly number[], scores: readonly number[], threshold: number): ConfusionMatrix {
  checkInputs(labels, scores);
  const matrix: ConfusionMatrix = { truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0 };
  labels.forEach((label, i) => {
    const predicted = (scores[i] as number) >= threshold;
    if (predicted && label === 1) matrix.truePositives++;
    else if (predicted) matrix.falsePositives++;
    else if (label === 1) matrix.falseNegatives++;
    else matrix.trueNegatives++;
  });
  return matrix;
}

/**
 * Area under the ROC curve as the Mann–Whitney statistic: the chance that a random positive
 * scores above a random negative, ties counting one half (average ranks handle them).
 */
export function rocAuc(labels: readonly number[], scores: readonly number[]): number {
  checkInputs(labels, scores);
  const order = scores.map((score, i) => ({ score, label: labels[i] as number })).sort((a, b) => a.score - b.score);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j]?.score === order[i]?.score) j++;
    const averageRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if (order[k]?.label === 1) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) throw new RangeError('AUC needs both classes among the labels');
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function rocCurve(labels: readonly number[], scores: readonly number[]): { fpr: number; tpr: number }[] {
  checkInputs(labels, scores);
  const order = scores.map((score, i) => ({ score, label: labels[i] as number })).sort((a, b) => b.score - a.score);
  const positives = labels.filter((l) => l === 1).length;
  const negatives = labels.length - positives;
  const points = [{ fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j]?.score === order[i]?.score) {
      if (order[j]?.label === 1) tp++;
      else fp++;
      j++;
    }
    points.push({ fpr: negatives ? fp / negatives : 0, tpr: positives ? tp / positives : 0 });
    i = j;
  }
  return points;
}

export function logLoss(labels: readonly number[], scores: readonly number[]): number {
  checkInputs(labels, scores);
  const eps = 1e-12;
  const total = labels.reduce((sum, label, i) => {
    const p = Math.min(1 - eps, Math.max(eps, scores[i] as number));
    return sum - (label === 1 ? Math.log(p) : Math.log(1 - p));
  }, 0);
  return total / labels.length;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

/** Every figure the model card reports, for one set of labelled predictions. */
export function evaluate(labels: readonly number[], scores: readonly number[], threshold: number): Evaluation {
  const confusion = confusionMatrix(labels, scores, threshold);
  const { truePositives: tp, falsePositives: fp, falseNegatives: fn } = confusion;
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return {
    rows: labels.length,
    positiveRate: labels.filter((l) => l === 1).length / labels.length,
    threshold,
    accuracy: (tp + confusion.trueNegatives) / labels.length,
    precision,
    recall,
    f1: ratio(2 * precision * recall, precision + recall),
    auc: rocAuc(labels, scores),
    logLoss: logLoss(labels, scores),
    confusion,
    roc: rocCurve(labels, scores),
  };
}

import type { ReactNode } from 'react';

/**
 * A chart's horizontal gridlines, each from `left` to `right` with its label just left of it; the
 * lines' `y` are measured from the plot's top, `top` below the top of the drawing.
 */
export function ChartGridlines<Line extends { y: number }>({
  lines,
  left,
  right,
  top,
  label,
  testId,
}: {
  lines: readonly Line[];
  left: number;
  right: number;
  top: number;
  label: (line: Line) => ReactNode;
  testId?: string;
}) {
  return (
    <g className="chart-grid" transform={`translate(0,${top})`}>
      {lines.map((line) => (
        <g key={line.y}>
          <line x1={left} x2={right} y1={line.y} y2={line.y} />
          <text x={left - 6} y={line.y + 4} textAnchor="end" data-testid={testId}>
            {label(line)}
          </text>
        </g>
      ))}
    </g>
  );
}

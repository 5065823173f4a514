import type { AssetMaterialization } from '@outpost/sdk/contracts';
import { useLayoutEffect, useRef, useState } from 'react';
import { ChartGridlines } from '../components/chart-gridlines.js';
import { Options } from '../components/options.js';
import { formatMetadataValue } from '../lib/asset-metadata.js';
import { formatDateTime } from '../lib/format.js';
import { metadataChart, metadataSeries, numericMetadataKeys } from '../lib/metadata-chart.js';
import { href } from '../router.js';

/** The width drawn until the figure is measured; then the drawing is as wide as the figure, so its text stays at its size. */
const DEFAULT_WIDTH = 960;
/** Room each time written under the axis needs. */
const TIME_LABEL_PX = 110;
const HEIGHT = 200;
const PAD_LEFT = 72;
const PAD_RIGHT = 16;
const PAD_TOP = 10;
const PAD_BOTTOM = 26;

const dayTime = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});

/**
 * One numeric metadata key across the asset's materialisations, oldest on the left (Dagster's asset
 * "Plots"), with a chooser when several keys are numeric; each point links to the run that wrote it.
 */
export function AssetMetadataChart({ items }: { items: readonly AssetMaterialization[] }) {
  const keys = numericMetadataKeys(items);
  const [chosen, setChosen] = useState<string | null>(null);
  if (keys.length === 0) {
    return (
      <p className="muted small" data-testid="metadata-chart-note">
        No numeric metadata to chart.
      </p>
    );
  }
  const key = chosen !== null && keys.includes(chosen) ? chosen : (keys[0] as string);
  const series = metadataSeries(items, key);
  return (
    <div data-testid="metadata-chart-panel">
      {keys.length > 1 && (
        <div className="toolbar">
          <label>
            Key{' '}
            <select value={key} onChange={(e) => setChosen(e.target.value)} data-testid="metadata-chart-key">
              <Options values={keys} />
            </select>
          </label>
        </div>
      )}
      {series.length < 2 ? (
        <p className="muted small" data-testid="metadata-chart-note">
          Only {series.length} materialisation has a numeric <span className="mono">{key}</span>: a chart needs two.
        </p>
      ) : (
        <SeriesChart metadataKey={key} series={series} />
      )}
    </div>
  );
}

function SeriesChart({ metadataKey, series }: { metadataKey: string; series: ReturnType<typeof metadataSeries> }) {
  const figure = useRef<HTMLElement>(null);
  const [width, setWidth] = useState(DEFAULT_WIDTH);
  useLayoutEffect(() => {
    const el = figure.current;
    if (!el) return;
    const measure = () => {
      if (el.clientWidth > 0) setWidth(el.clientWidth);
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const innerWidth = width - PAD_LEFT - PAD_RIGHT;
  const labels = Math.max(2, Math.floor(innerWidth / TIME_LABEL_PX));
  const chart = metadataChart(metadataKey, series, innerWidth, HEIGHT - PAD_TOP - PAD_BOTTOM, labels);
  const describe = (p: (typeof chart.points)[number]) =>
    `${metadataKey} ${formatMetadataValue(metadataKey, p.value)} · ${formatDateTime(p.createdAt)}${p.partitionKey ? ` · partition ${p.partitionKey}` : ''}`;
  return (
    <figure ref={figure} className="chart metadata-chart" data-testid="metadata-chart" data-key={metadataKey}>
      {/* no image role: each point is a link to its run, and an image holds nothing focusable */}
      <svg viewBox={`0 0 ${width} ${HEIGHT}`} aria-label={`${metadataKey} over the asset's materialisations`}>
        <ChartGridlines
          lines={chart.gridlines}
          left={PAD_LEFT}
          right={width - PAD_RIGHT}
          top={PAD_TOP}
          label={(g) => g.label}
          testId="metadata-chart-tick"
        />
        <g transform={`translate(${PAD_LEFT},${PAD_TOP})`}>
          {chart.timeLabels.map((t, i) => (
            <text
              key={`${t.x}-${t.at}`}
              className="chart-label"
              x={t.x}
              y={HEIGHT - PAD_TOP - 8}
              textAnchor={
                i === 0 && chart.timeLabels.length > 1 ? 'start' : i === chart.timeLabels.length - 1 && i > 0 ? 'end' : 'middle'
              }
            >
              {dayTime.format(Date.parse(t.at))}
            </text>
          ))}
          <path className="metadata-chart-line" d={chart.path} />
          {chart.points.map((p) => (
            <a
              key={p.materializationId}
              href={href(`/runs/${p.runId}`)}
              aria-label={describe(p)}
              data-testid="metadata-chart-point"
              data-run-id={p.runId}
              data-value={p.value}
            >
              <circle className="metadata-chart-point" cx={p.x} cy={p.y} r={4}>
                <title>{describe(p)}</title>
              </circle>
            </a>
          ))}
        </g>
      </svg>
    </figure>
  );
}

import type { AssetPartition, PartitionCounts, PartitionSelection, PartitionStatus } from '@outpost/sdk/contracts';
import {
  type PointerEvent as ReactPointerEvent,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import { formatDateTime, pluralise } from '../lib/format.js';
import {
  cellAt,
  columnLabelStep,
  type Dimension,
  type GridLayout,
  type GridSelection,
  gridLayout,
  type Hit,
  indexAt,
  isSelected,
  partitionCells,
  STATUS_BY_CODE,
  STATUS_CODE,
  STATUS_ORDER,
  selectedIndices,
  selectionToPartitions,
  visibleRange,
} from '../lib/partition-grid.js';
import { useTheme } from '../lib/theme.js';
import { cssVars } from './css-vars.js';

export const STATUS_LABEL: Record<PartitionStatus, string> = {
  MISSING: 'Missing',
  MATERIALIZED: 'Materialised',
  STALE: 'Stale',
  FAILED: 'Failed',
  MATERIALIZING: 'Materialising',
};

const STATUS_VAR: Record<PartitionStatus, string> = {
  MISSING: '--partition-missing',
  MATERIALIZED: '--partition-materialized',
  STALE: '--partition-stale',
  FAILED: '--partition-failed',
  MATERIALIZING: '--partition-materializing',
};

export interface GridPick {
  keys: string[];
  partitions: PartitionSelection | null;
}

export interface PartitionGridProps {
  partitions: readonly AssetPartition[];
  dimensions: readonly Dimension[] | null;
  counts: PartitionCounts | null;
  /** Told the selected partitions' keys (definition order) and what to send to materialise them, or null when cleared. */
  onSelectionChange?: (selection: GridPick | null) => void;
}

interface Palette {
  status: string[];
  blocked: string;
  selected: string;
  hover: string;
  label: string;
  labelBg: string;
}

function readPalette(el: HTMLElement): Palette {
  const css = getComputedStyle(el);
  const v = (name: string) => css.getPropertyValue(name).trim() || '#999';
  return {
    status: STATUS_BY_CODE.map((s) => v(STATUS_VAR[s])),
    blocked: v('--partition-blocked-mark'),
    selected: v('--partition-selected'),
    hover: v('--partition-hover'),
    label: v('--partition-label'),
    labelBg: v('--partition-label-bg'),
  };
}

/**
 * Partition status as a grid of coloured cells on one canvas: only the visible part is drawn (on
 * scroll, in an animation frame), so 10,000 or 100,000 partitions cost what the viewport holds.
 * Hover shows a partition's key, status and time; press and drag (or click, then shift-click)
 * selects a range, or a rectangle of a two-dimensional grid, to materialise.
 */
export function PartitionGrid({ partitions, dimensions, counts, onSelectionChange }: PartitionGridProps) {
  const wrapper = useRef<HTMLDivElement>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const [hover, setHover] = useState<{ hit: Hit; x: number; y: number } | null>(null);
  const [selection, setSelection] = useState<GridSelection | null>(null);
  const dragging = useRef(false);

  const cells = useMemo(() => partitionCells(partitions), [partitions]);
  const layout = useMemo(() => gridLayout(cells.keys, dimensions, width), [cells, dimensions, width]);
  const blockedCount = useMemo(() => cells.blocked.reduce((n, b) => n + b, 0), [cells]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // A new set of partitions (another asset, a re-read) drops a selection that may not fit it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the cells are what invalidates the selection
  useEffect(() => {
    setSelection(null);
    setHover(null);
  }, [cells]);

  const state = useRef({ layout, cells, selection, hover });
  state.current = { layout, cells, selection, hover };

  const draw = useCallback(() => {
    const c = canvas.current;
    const s = scroller.current;
    const w = wrapper.current;
    if (!c || !s || !w) return;
    const { layout: g, cells: data, selection: sel, hover: hov } = state.current;
    const viewWidth = Math.min(s.clientWidth, Math.max(g.width, 0));
    const viewHeight = Math.min(s.clientHeight, Math.max(g.height, 0));
    const dpr = window.devicePixelRatio || 1;
    const pixelWidth = Math.max(1, Math.round(viewWidth * dpr));
    const pixelHeight = Math.max(1, Math.round(viewHeight * dpr));
    if (c.width !== pixelWidth) c.width = pixelWidth;
    if (c.height !== pixelHeight) c.height = pixelHeight;
    c.style.setProperty('--pgrid-view-width', `${viewWidth}px`);
    c.style.setProperty('--pgrid-view-height', `${viewHeight}px`);
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, viewWidth, viewHeight);
    const palette = readPalette(w);
    const sx = s.scrollLeft;
    const sy = s.scrollTop;
    // Cells scroll under the sticky label gutters of a matrix.
    const range = visibleRange(g, {
      x: sx + g.originX,
      y: sy + g.originY,
      width: viewWidth - g.originX,
      height: viewHeight - g.originY,
    });
    ctx.save();
    ctx.beginPath();
    ctx.rect(g.originX, g.originY, viewWidth - g.originX, viewHeight - g.originY);
    ctx.clip();
    if (range) {
      const byStatus = STATUS_BY_CODE.map(() => new Path2D());
      const blocked = new Path2D();
      const selected = new Path2D();
      for (let r = range.firstRow; r <= range.lastRow; r++) {
        const y = g.originY + r * g.pitch - sy;
        for (let col = range.firstColumn; col <= range.lastColumn; col++) {
          const i = indexAt(g, r, col);
          if (i < 0) continue;
          const x = g.originX + col * g.pitch - sx;
          byStatus[data.status[i] ?? 0]?.rect(x, y, g.cell, g.cell);
          if (data.blocked[i]) {
            blocked.moveTo(x + 1, y + g.cell - 1);
            blocked.lineTo(x + g.cell - 1, y + 1);
          }
          if (sel && isSelected(g, sel, i)) selected.rect(x + 0.5, y + 0.5, g.cell - 1, g.cell - 1);
        }
      }
      byStatus.forEach((path, code) => {
        ctx.fillStyle = palette.status[code] ?? '#999';
        ctx.fill(path);
      });
      ctx.lineWidth = 2;
      ctx.strokeStyle = palette.blocked;
      ctx.stroke(blocked);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = palette.selected;
      ctx.stroke(selected);
    }
    if (hov && hov.hit.index >= 0) {
      ctx.lineWidth = 2;
      ctx.strokeStyle = palette.hover;
      ctx.strokeRect(
        g.originX + hov.hit.column * g.pitch - sx - 1,
        g.originY + hov.hit.row * g.pitch - sy - 1,
        g.cell + 2,
        g.cell + 2,
      );
    }
    ctx.restore();
    if (g.kind === 'matrix') drawLabels(ctx, g, palette, sx, sy, viewWidth, viewHeight);
    c.dataset.painted = String(range !== null);
  }, []);

  const frame = useRef(0);
  const schedule = useCallback(() => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      draw();
    });
  }, [draw]);
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  // The palette comes from the theme's custom properties: a theme change repaints the cells in it.
  const theme = useTheme();
  // Data, size, selection, hover and theme changes redraw synchronously after layout: the first paint has its cells.
  // biome-ignore lint/correctness/useExhaustiveDependencies: each of these changes what is drawn
  useLayoutEffect(() => {
    draw();
  }, [draw, layout, cells, selection, hover, theme]);

  useEffect(() => {
    if (!selection) {
      onSelectionChange?.(null);
      return;
    }
    onSelectionChange?.({
      keys: selectedIndices(layout, selection).map((i) => cells.keys[i] as string),
      partitions: selectionToPartitions(layout, cells.keys, selection),
    });
  }, [selection, layout, cells, onSelectionChange]);

  /** The cell under the pointer, or null over the labels or past the grid. */
  const hitAt = (e: ReactPointerEvent<HTMLCanvasElement>): { hit: Hit; x: number; y: number } | null => {
    const s = scroller.current;
    const c = canvas.current;
    if (!s || !c) return null;
    const box = c.getBoundingClientRect();
    const vx = e.clientX - box.left;
    const vy = e.clientY - box.top;
    if (vx < layout.originX || vy < layout.originY) return null;
    const hit = cellAt(layout, vx + s.scrollLeft, vy + s.scrollTop);
    if (!hit) return null;
    const outer = wrapper.current?.getBoundingClientRect();
    return { hit, x: e.clientX - (outer?.left ?? 0), y: e.clientY - (outer?.top ?? 0) };
  };

  const onPointerMove = (e: ReactPointerEvent<HTMLCanvasElement>) => {
    const at = hitAt(e);
    setHover(at && at.hit.index >= 0 ? at : null);
    if (dragging.current && at && at.hit.index >= 0) {
      setSelection((s) => (s && (s.focus.row !== at.hit.row || s.focus.column !== at.hit.column) ? { ...s, focus: at.hit } : s));
    }
  };
  const onPointerDown = (e: ReactPointerEvent<HTMLCanvasElement>) => {
    if (e.button !== 0) return;
    const at = hitAt(e);
    if (!at || at.hit.index < 0) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    dragging.current = true;
    setSelection((s) => (e.shiftKey && s ? { ...s, focus: at.hit } : { anchor: at.hit, focus: at.hit }));
  };
  const endDrag = () => {
    dragging.current = false;
  };

  const hovered = hover ? partitions[hover.hit.index] : undefined;
  const summary = counts
    ? `${pluralise(counts.total, 'partition')}: ${STATUS_ORDER.map((s) => `${counts[s].toLocaleString()} ${STATUS_LABEL[s].toLowerCase()}`).join(', ')}`
    : pluralise(partitions.length, 'partition');

  return (
    <div
      className="partition-grid"
      ref={wrapper}
      data-testid="partition-grid"
      data-cells={partitions.length}
      data-layout={layout.kind}
      data-columns={layout.columns}
      data-rows={layout.rows}
      data-pitch={layout.pitch}
      data-origin-x={layout.originX}
      data-origin-y={layout.originY}
    >
      <div className="pgrid-legend" data-testid="partition-legend">
        {STATUS_ORDER.map((s) => (
          <span key={s} className="pgrid-legend-item" data-testid="partition-count" data-status={s}>
            <span className={`pgrid-swatch pgrid-swatch-${s.toLowerCase()}`} aria-hidden="true" />
            {STATUS_LABEL[s]} <strong className="mono">{(counts?.[s] ?? countOf(cells.status, s)).toLocaleString()}</strong>
          </span>
        ))}
        <span className="pgrid-legend-item" data-testid="partition-count" data-status="BLOCKED">
          <span className="pgrid-swatch pgrid-swatch-blocked" aria-hidden="true" />
          Blocked <strong className="mono">{blockedCount.toLocaleString()}</strong>
        </span>
        {layout.kind === 'matrix' && (
          <span className="muted">
            rows: {layout.rowDimension} · columns: {layout.columnDimension}
          </span>
        )}
      </div>
      <div ref={scroller} className="pgrid-scroller" onScroll={schedule}>
        <div
          className="pgrid-spacer"
          ref={cssVars({ '--pgrid-width': `${layout.width}px`, '--pgrid-height': `${layout.height}px` })}
        >
          <canvas
            ref={canvas}
            className="pgrid-canvas"
            role="img"
            aria-label={summary}
            data-testid="partition-canvas"
            onPointerMove={onPointerMove}
            onPointerDown={onPointerDown}
            onPointerUp={endDrag}
            onPointerCancel={endDrag}
            onPointerLeave={() => setHover(null)}
          />
        </div>
      </div>
      {hover && hovered && (
        <div
          className="pgrid-tooltip"
          data-testid="partition-tooltip"
          data-key={hovered.key}
          data-status={hovered.status}
          ref={cssVars({ '--tip-x': `${hover.x + 14}px`, '--tip-y': `${hover.y + 14}px` })}
        >
          <div className="mono">{hovered.key}</div>
          <div>
            {STATUS_LABEL[hovered.status]}
            {hovered.blocked ? ' · blocked by a failed check' : ''}
          </div>
          {hovered.materializedAt && <div className="muted">materialised {formatDateTime(hovered.materializedAt)}</div>}
          {hovered.staleReason && <div className="muted">{hovered.staleReason}</div>}
        </div>
      )}
    </div>
  );
}

function countOf(status: Uint8Array, s: PartitionStatus): number {
  const code = STATUS_CODE[s];
  let n = 0;
  for (const c of status) if (c === code) n++;
  return n;
}

/** A matrix's row labels stay at the left and its column labels at the top while the cells scroll. */
function drawLabels(
  ctx: CanvasRenderingContext2D,
  g: GridLayout,
  palette: Palette,
  sx: number,
  sy: number,
  viewWidth: number,
  viewHeight: number,
) {
  ctx.fillStyle = palette.labelBg;
  ctx.fillRect(0, 0, g.originX, viewHeight);
  ctx.fillRect(0, 0, viewWidth, g.originY);
  ctx.fillStyle = palette.label;
  ctx.font = '11px ui-monospace, Menlo, Consolas, monospace';
  ctx.textBaseline = 'middle';
  const range = visibleRange(g, {
    x: sx + g.originX,
    y: sy + g.originY,
    width: viewWidth - g.originX,
    height: viewHeight - g.originY,
  });
  if (!range) return;
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, g.originY, g.originX, viewHeight - g.originY);
  ctx.clip();
  for (let r = range.firstRow; r <= range.lastRow; r++) {
    ctx.fillText(g.rowLabels[r] ?? '', 2, g.originY + r * g.pitch - sy + g.cell / 2, g.originX - 6);
  }
  ctx.restore();
  ctx.save();
  ctx.beginPath();
  ctx.rect(g.originX, 0, viewWidth - g.originX, g.originY);
  ctx.clip();
  const step = columnLabelStep(g);
  for (let col = range.firstColumn - (range.firstColumn % step); col <= range.lastColumn; col += step) {
    ctx.fillText(g.columnLabels[col] ?? '', g.originX + col * g.pitch - sx, g.originY / 2);
  }
  ctx.restore();
}

import { type ReactNode, type UIEvent, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { cssVars } from './css-vars.js';

export interface VirtualListProps {
  count: number;
  /** Every row has this height in pixels (the stylesheet must agree). */
  rowHeight: number;
  renderRow: (index: number) => ReactNode;
  className?: string;
  testId?: string;
  /** Rows rendered above and below the visible ones. */
  overscan?: number;
  /** Keep the newest row in view while the user is at the bottom (a log tail). */
  followTail?: boolean;
  /** A changing value that forces a scroll back to the top (a new filter). */
  resetKey?: string;
  /** Told the rows rendered, `first` inclusive to `last` exclusive, whenever they change (to load more near the end). */
  onRangeChange?: (first: number, last: number) => void;
  /** Brings row `index` into the middle of the view each time `request` changes (a "jump to" button). */
  scrollTo?: { index: number; request: number } | null;
}

/**
 * Renders only the rows in view, so 100,000 rows cost what 50 do. The scroller's height comes
 * from the stylesheet; total height and window offset are CSS custom properties.
 */
export function VirtualList({
  count,
  rowHeight,
  renderRow,
  className,
  testId,
  overscan = 10,
  followTail = false,
  resetKey,
  onRangeChange,
  scrollTo,
}: VirtualListProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  const atBottom = useRef(true);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    setViewport(el.clientHeight);
    const observer = new ResizeObserver(() => setViewport(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: runs only when the reset key changes
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    el.scrollTop = followTail ? el.scrollHeight : 0;
    setScrollTop(el.scrollTop);
  }, [resetKey]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: new rows (a higher count) are what moves the tail
  useEffect(() => {
    const el = scroller.current;
    if (!el || !followTail || !atBottom.current) return;
    el.scrollTop = el.scrollHeight;
    setScrollTop(el.scrollTop);
  }, [count, followTail]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: each request scrolls once
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || !scrollTo) return;
    el.scrollTop = Math.max(0, scrollTo.index * rowHeight - el.clientHeight / 2 + rowHeight / 2);
    atBottom.current = false;
    setScrollTop(el.scrollTop);
  }, [scrollTo?.request]);

  const onScroll = useCallback(
    (e: UIEvent<HTMLDivElement>) => {
      const el = e.currentTarget;
      atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < rowHeight * 2;
      setScrollTop(el.scrollTop);
    },
    [rowHeight],
  );

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  useEffect(() => onRangeChange?.(first, last), [first, last, onRangeChange]);
  const rows: ReactNode[] = [];
  for (let i = first; i < last; i++) rows.push(renderRow(i));

  return (
    <div
      ref={scroller}
      className={`virtual-scroller ${className ?? ''}`}
      onScroll={onScroll}
      data-testid={testId}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: the scroller must take keyboard focus to scroll with the arrow keys
      tabIndex={0}
    >
      <div className="virtual-spacer" ref={cssVars({ '--virtual-height': `${count * rowHeight}px` })}>
        <div className="virtual-window" ref={cssVars({ '--virtual-offset': `${first * rowHeight}px` })}>
          {rows}
        </div>
      </div>
    </div>
  );
}

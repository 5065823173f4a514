/**
 * A ref callback that sets CSS custom properties through the CSSOM. A strict `default-src 'self'`
 * policy refuses `style="…"` attributes in markup but allows the CSSOM, so widths and offsets
 * that depend on data (bars, Gantt spans, virtual scrolling) travel this way into the stylesheet.
 */
export function cssVars(vars: Record<`--${string}`, string | number>): (el: HTMLElement | SVGElement | null) => void {
  return (el) => {
    if (!el) return;
    for (const [name, value] of Object.entries(vars)) el.style.setProperty(name, String(value));
  };
}

import type { ComponentProps } from 'react';
import Markdown, { type Components, type UrlTransform } from 'react-markdown';
import remarkGfm from 'remark-gfm';
import { markdownImageSrc, markdownLinkHref } from '../lib/artifacts.js';
import { isSvgDataUrl, sanitizedSvgDataUrl } from '../lib/safe-svg.js';

interface MdNode {
  type: string;
  value?: string;
  children?: MdNode[];
}

/** Raw HTML in the source is shown as the text it is, so `<script>` reads as `<script>` and nothing runs. */
function htmlAsText() {
  const walk = (node: MdNode) => {
    if (node.type === 'html') node.type = 'text';
    for (const child of node.children ?? []) walk(child);
  };
  return (tree: MdNode) => walk(tree);
}

const urlTransform: UrlTransform = (url, key) => {
  if (key === 'href') return markdownLinkHref(url);
  if (key === 'src') return markdownImageSrc(url);
  return null;
};

function MarkdownLink({ href, children }: ComponentProps<'a'>) {
  if (!href) return <span className="md-dead-link">{children}</span>;
  return (
    <a href={href} rel="noopener noreferrer" target="_blank">
      {children}
    </a>
  );
}

function MarkdownImage({ src, alt }: ComponentProps<'img'>) {
  const shown = typeof src === 'string' && isSvgDataUrl(src) ? sanitizedSvgDataUrl(src) : src;
  if (typeof shown !== 'string' || shown === '') return <span className="muted">{alt ? `[image: ${alt}]` : '[image]'}</span>;
  return <img src={shown} alt={alt ?? ''} />;
}

/**
 * A GFM table cell's alignment as a class: react-markdown writes it as an inline style, which the
 * dashboard's content security policy (style-src 'self') refuses.
 */
function alignClass(style: ComponentProps<'td'>['style']): string | undefined {
  const align = style?.textAlign;
  return align === 'left' || align === 'right' || align === 'center' ? `md-align-${align}` : undefined;
}

function MarkdownCell({ style, node: _node, ...props }: ComponentProps<'td'> & { node?: unknown }) {
  return <td {...props} className={alignClass(style)} />;
}

function MarkdownHeaderCell({ style, node: _node, ...props }: ComponentProps<'th'> & { node?: unknown }) {
  return <th {...props} className={alignClass(style)} />;
}

const components: Components = { a: MarkdownLink, img: MarkdownImage, td: MarkdownCell, th: MarkdownHeaderCell };
// GitHub-flavoured: tables, task lists, strikethrough and bare links, still with no raw HTML.
const remarkPlugins = [remarkGfm, htmlAsText];

/** GitHub-flavoured Markdown written by a run, rendered to React elements only: no raw HTML, no script-capable URLs. */
export function MarkdownText({ markdown }: { markdown: string }) {
  return (
    <div className="markdown">
      <Markdown remarkPlugins={remarkPlugins} urlTransform={urlTransform} components={components} skipHtml={false}>
        {markdown}
      </Markdown>
    </div>
  );
}

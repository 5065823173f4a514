import type { ComponentProps } from 'react';
import Markdown, { type Components, type UrlTransform } from 'react-markdown';
import { markdownImageSrc, markdownLinkHref } from '../lib/artifacts.js';

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
  if (typeof src !== 'string' || src === '') return <span className="muted">{alt ? `[image: ${alt}]` : '[image]'}</span>;
  return <img src={src} alt={alt ?? ''} />;
}

const components: Components = { a: MarkdownLink, img: MarkdownImage };
const remarkPlugins = [htmlAsText];

/** Markdown written by a run, rendered to React elements only: no raw HTML, no script-capable URLs. */
export function MarkdownText({ markdown }: { markdown: string }) {
  return (
    <div className="markdown">
      <Markdown remarkPlugins={remarkPlugins} urlTransform={urlTransform} components={components} skipHtml={false}>
        {markdown}
      </Markdown>
    </div>
  );
}

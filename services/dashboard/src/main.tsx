import './csp.js';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { prefetchFirstReads } from './api/first-reads.js';
import { App } from './app.js';
import './styles/base.css';
import './styles/layout.css';
import './styles/components.css';
import './styles/pages.css';
import './styles/task-runs.css';
import './styles/assets.css';
import './styles/deployment.css';
import './styles/scatter.css';
import './styles/run-manifest.css';
import './styles/usage.css';
import './styles/organisation-quotas.css';
import './styles/organisation-groups.css';
import './styles/organisation-sso.css';

const root = document.getElementById('root');
if (root) {
  // The page's first reads start now, alongside the download of its code.
  prefetchFirstReads(window.location.hash);
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

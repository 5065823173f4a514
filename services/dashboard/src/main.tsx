import { createRoot } from 'react-dom/client';

function App() {
  return <p>Outpost</p>;
}

const root = document.getElementById('root');
if (root) createRoot(root).render(<App />);

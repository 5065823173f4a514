// Runs before the page paints (a blocking classic script in <head>), so a dark page never flashes
// light: the saved choice (localStorage "outpost-theme": light, dark or system) or, for system, the
// browser's prefers-color-scheme becomes data-theme on <html>. src/lib/theme.ts keeps it current.
(() => {
  let choice = 'system';
  try {
    const saved = window.localStorage.getItem('outpost-theme');
    if (saved === 'light' || saved === 'dark') choice = saved;
  } catch {
    // Storage can be blocked (privacy settings); the system theme applies.
  }
  const dark = choice === 'dark' || (choice === 'system' && window.matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
})();

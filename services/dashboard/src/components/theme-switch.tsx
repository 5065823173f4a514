import { setThemeChoice, type ThemeChoice, useThemeChoice } from '../lib/theme.js';

const CHOICES: { value: ThemeChoice; label: string }[] = [
  { value: 'system', label: 'System theme' },
  { value: 'light', label: 'Light theme' },
  { value: 'dark', label: 'Dark theme' },
];

/** Light, dark or the system's theme, remembered in this browser. */
export function ThemeSwitch() {
  const choice = useThemeChoice();
  return (
    <label className="theme-switch">
      <span className="visually-hidden">Theme</span>
      <select value={choice} onChange={(e) => setThemeChoice(e.target.value as ThemeChoice)} data-testid="theme-switch">
        {CHOICES.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
    </label>
  );
}

import type { Role, WhoAmIResponse } from '@outpost/sdk/contracts';
import { type FocusEvent, type KeyboardEvent, lazy, type MouseEvent, Suspense, useEffect, useRef, useState } from 'react';
import { api } from './api/instance.js';
import { NavLink } from './components/nav-link.js';
import { ThemeSwitch } from './components/theme-switch.js';
import { WorkspaceSwitcher } from './components/workspace-switcher.js';
import { ConfirmEmailPage } from './pages/confirm-email.js';
import { ConfirmRecipientPage } from './pages/confirm-recipient.js';
import { ResetPasswordPage } from './pages/reset-password.js';
import { SetPasswordPage } from './pages/set-password.js';
import { SignInPage } from './pages/sign-in.js';
import { matchRoute, navigate, parseHash, type Route, useHash } from './router.js';

type Me = WhoAmIResponse | null;

// Each page of the shell is its own chunk, loaded when it is first opened: the lineage graph (React
// Flow and its stylesheet), the Markdown renderer, the cron describers and the charts stay out of the
// entry chunk, which before this split was 906 kB and drew Vite's 500 kB warning.
const ApprovalsPage = lazy(() => import('./pages/approvals.js').then((m) => ({ default: m.ApprovalsPage })));
const AssetDetailPage = lazy(() => import('./pages/asset-detail.js').then((m) => ({ default: m.AssetDetailPage })));
const AssetsPage = lazy(() => import('./pages/assets.js').then((m) => ({ default: m.AssetsPage })));
const AutomationDetailPage = lazy(() =>
  import('./pages/automation-detail.js').then((m) => ({ default: m.AutomationDetailPage })),
);
const AutomationsPage = lazy(() => import('./pages/automations.js').then((m) => ({ default: m.AutomationsPage })));
const DeploymentPage = lazy(() => import('./pages/deployment.js').then((m) => ({ default: m.DeploymentPage })));
const DeploymentsPage = lazy(() => import('./pages/deployments.js').then((m) => ({ default: m.DeploymentsPage })));
const EventsPage = lazy(() => import('./pages/events.js').then((m) => ({ default: m.EventsPage })));
const LineagePage = lazy(() => import('./pages/lineage.js').then((m) => ({ default: m.LineagePage })));
const NotificationsPage = lazy(() => import('./pages/notifications.js').then((m) => ({ default: m.NotificationsPage })));
const OrganisationPage = lazy(() => import('./pages/organisation.js').then((m) => ({ default: m.OrganisationPage })));
const OverviewPage = lazy(() => import('./pages/overview.js').then((m) => ({ default: m.OverviewPage })));
const RunDetailPage = lazy(() => import('./pages/run-detail.js').then((m) => ({ default: m.RunDetailPage })));
const RunsPage = lazy(() => import('./pages/runs.js').then((m) => ({ default: m.RunsPage })));
const SensorDetailPage = lazy(() => import('./pages/sensor-detail.js').then((m) => ({ default: m.SensorDetailPage })));
const SensorsPage = lazy(() => import('./pages/sensors.js').then((m) => ({ default: m.SensorsPage })));
const SettingsPage = lazy(() => import('./pages/settings.js').then((m) => ({ default: m.SettingsPage })));
const WebhooksPage = lazy(() => import('./pages/webhooks.js').then((m) => ({ default: m.WebhooksPage })));
const WorkPoolsPage = lazy(() => import('./pages/work-pools.js').then((m) => ({ default: m.WorkPoolsPage })));

export function App() {
  const hash = useHash();
  const location = parseHash(hash);
  const route = matchRoute(location.path);
  if (route.name === 'sign-in') return <SignInPage search={location.search} />;
  if (route.name === 'set-password') return <SetPasswordPage search={location.search} />;
  if (route.name === 'reset-password') return <ResetPasswordPage search={location.search} />;
  if (route.name === 'confirm-email') return <ConfirmEmailPage search={location.search} />;
  if (route.name === 'confirm-recipient') return <ConfirmRecipientPage search={location.search} />;
  return <Shell route={route} search={location.search} />;
}

function Shell({ route, search }: { route: Route; search: URLSearchParams }) {
  const [me, setMe] = useState<Me>(null);
  useEffect(() => {
    let active = true;
    void api.call('whoami', {}).then((result) => {
      if (active && result.ok) setMe(result.data);
    });
    return () => {
      active = false;
    };
  }, []);
  const role: Role | null = me?.principal.role ?? null;

  const signOut = async () => {
    await api.call('authSessionDelete', { allowUnauthenticated: true });
    navigate('/sign-in', undefined, { replace: true });
  };

  const [menuOpen, setMenuOpen] = useState(false);
  const menuButton = useRef<HTMLButtonElement>(null);
  const nav = useRef<HTMLElement>(null);
  const main = useRef<HTMLElement>(null);

  // The phone menu takes focus when it opens, so Tab and the arrow keys go through its links; a
  // press anywhere outside it (and its button) closes it.
  useEffect(() => {
    if (!menuOpen) return;
    nav.current?.querySelector<HTMLElement>('a[href]')?.focus();
    const onPointerDown = (e: PointerEvent) => {
      const target = e.target as Node;
      if (!nav.current?.contains(target) && !menuButton.current?.contains(target)) setMenuOpen(false);
    };
    document.addEventListener('pointerdown', onPointerDown);
    return () => document.removeEventListener('pointerdown', onPointerDown);
  }, [menuOpen]);
  // Focus leaving the open menu (Tab past its last link, a click elsewhere) closes it.
  const onNavBlur = (e: FocusEvent<HTMLElement>) => {
    const to = e.relatedTarget as Node | null;
    if (menuOpen && to && !e.currentTarget.contains(to) && to !== menuButton.current) setMenuOpen(false);
  };

  // Following a link in the phone menu closes it; the page it opens takes the screen.
  const onNavClick = (e: MouseEvent<HTMLElement>) => {
    if ((e.target as HTMLElement).closest('a')) setMenuOpen(false);
  };
  // Up and Down (Home, End) move between the links of the navigation; Escape closes the phone menu.
  const onNavKeyDown = (e: KeyboardEvent<HTMLElement>) => {
    if (e.key === 'Escape' && menuOpen) {
      setMenuOpen(false);
      menuButton.current?.focus();
      return;
    }
    const links = [...e.currentTarget.querySelectorAll<HTMLAnchorElement>('a[href]')];
    const at = links.indexOf(document.activeElement as HTMLAnchorElement);
    if (at < 0) return;
    const next =
      e.key === 'ArrowDown'
        ? (at + 1) % links.length
        : e.key === 'ArrowUp'
          ? (at - 1 + links.length) % links.length
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? links.length - 1
              : -1;
    if (next < 0) return;
    e.preventDefault();
    links[next]?.focus();
  };

  return (
    <div className={`shell${menuOpen ? ' shell-menu-open' : ''}`}>
      <button type="button" className="skip-link" onClick={() => main.current?.focus()} data-testid="skip-link">
        Skip to content
      </button>
      <header className="topbar">
        <div className="topbar-left">
          <button
            ref={menuButton}
            type="button"
            className="menu-button"
            aria-expanded={menuOpen}
            aria-controls="main-nav"
            onClick={() => setMenuOpen((open) => !open)}
            data-testid="menu-button"
          >
            <span className="menu-icon" aria-hidden="true" />
            <span className="visually-hidden">Menu</span>
          </button>
          <div className="workspace" data-testid="workspace-name">
            <span className="muted workspace-label">Workspace</span> <strong>{me ? me.workspace.name : '…'}</strong>
            {me?.archived && (
              <span
                className="pill pill-paused"
                data-testid="workspace-archived"
                title="Its history reads as before; it takes no changes"
              >
                archived
              </span>
            )}
          </div>
          {me?.user && <WorkspaceSwitcher current={me.workspace.slug} />}
        </div>
        <div className="topbar-right">
          {me?.user && (
            <span className="muted user-email" data-testid="user-email">
              {me.user.email}
            </span>
          )}
          {role && <span className="role">{role}</span>}
          <ThemeSwitch />
          <button type="button" className="button button-quiet" onClick={() => void signOut()} data-testid="sign-out">
            Sign out
          </button>
        </div>
      </header>
      <nav
        id="main-nav"
        ref={nav}
        className="sidebar"
        aria-label="Main"
        onClick={onNavClick}
        onKeyDown={onNavKeyDown}
        onBlur={onNavBlur}
      >
        <a className="brand" href="#/">
          <span className="brand-mark" aria-hidden="true" />
          Outpost
        </a>
        <NavLink to="/" current={route.name === 'overview'} testId="nav-overview">
          Overview
        </NavLink>
        <NavLink to="/runs" current={route.name === 'runs' || route.name === 'run'} testId="nav-runs">
          Runs
        </NavLink>
        <NavLink to="/deployments" current={route.name === 'deployments' || route.name === 'deployment'} testId="nav-deployments">
          Deployments
        </NavLink>
        <NavLink
          to="/assets"
          current={route.name === 'assets' || route.name === 'asset' || route.name === 'lineage'}
          testId="nav-assets"
        >
          Assets
        </NavLink>
        <NavLink to="/approvals" current={route.name === 'approvals'} testId="nav-approvals">
          Approvals
        </NavLink>
        <NavLink to="/events" current={route.name === 'events'} testId="nav-events">
          Events
        </NavLink>
        <NavLink to="/webhooks" current={route.name === 'webhooks'} testId="nav-webhooks">
          Webhooks
        </NavLink>
        <NavLink to="/automations" current={route.name === 'automations' || route.name === 'automation'} testId="nav-automations">
          Automations
        </NavLink>
        <NavLink to="/notifications" current={route.name === 'notifications'} testId="nav-notifications">
          Notifications
        </NavLink>
        <NavLink to="/sensors" current={route.name === 'sensors' || route.name === 'sensor'} testId="nav-sensors">
          Sensors
        </NavLink>
        <NavLink to="/work-pools" current={route.name === 'work-pools'} testId="nav-work-pools">
          Work pools
        </NavLink>
        <NavLink to="/settings" current={route.name === 'settings'} testId="nav-settings">
          Settings
        </NavLink>
        {me?.user && (
          <NavLink to="/organisation" current={route.name === 'organisation'} testId="nav-organisation">
            Organisation
          </NavLink>
        )}
      </nav>
      <main id="main-content" className="content" ref={main} tabIndex={-1}>
        <Suspense fallback={<div className="page muted">Loading…</div>}>
          <Page
            route={route}
            search={search}
            role={role}
            userId={me?.user?.id ?? null}
            workspaceSlug={me?.workspace.slug ?? null}
            organisationSlug={me?.organisation?.slug ?? null}
          />
        </Suspense>
      </main>
    </div>
  );
}

function Page({
  route,
  search,
  role,
  userId,
  workspaceSlug,
  organisationSlug,
}: {
  route: Route;
  search: URLSearchParams;
  role: Role | null;
  userId: string | null;
  workspaceSlug: string | null;
  organisationSlug: string | null;
}) {
  switch (route.name) {
    case 'overview':
      return <OverviewPage />;
    case 'runs':
      return <RunsPage search={search} />;
    case 'run':
      return <RunDetailPage key={route.id} id={route.id} role={role} />;
    case 'deployments':
      return <DeploymentsPage />;
    case 'deployment':
      return <DeploymentPage key={route.id} id={route.id} role={role} />;
    case 'assets':
      return <AssetsPage search={search} role={role} />;
    case 'asset':
      return <AssetDetailPage key={route.key} assetKey={route.key} role={role} />;
    case 'lineage':
      return <LineagePage search={search} />;
    case 'sensors':
      return <SensorsPage role={role} />;
    case 'sensor':
      return <SensorDetailPage key={route.id} id={route.id} role={role} />;
    case 'work-pools':
      return <WorkPoolsPage role={role} />;
    case 'approvals':
      return <ApprovalsPage role={role} />;
    case 'events':
      return <EventsPage search={search} />;
    case 'webhooks':
      return <WebhooksPage role={role} />;
    case 'automations':
      return <AutomationsPage />;
    case 'automation':
      return <AutomationDetailPage key={route.id} id={route.id} />;
    case 'notifications':
      return <NotificationsPage />;
    case 'settings':
      return <SettingsPage role={role} userId={userId} workspaceSlug={workspaceSlug} />;
    case 'organisation':
      return organisationSlug ? (
        <OrganisationPage organisation={organisationSlug} currentUserId={userId} />
      ) : (
        <div className="page muted">Loading…</div>
      );
    case 'sign-in':
    case 'set-password':
    case 'confirm-email':
    case 'confirm-recipient':
    case 'not-found':
      return (
        <div className="page">
          <h1>Not found</h1>
          <p>
            There is nothing at this address. <a href="#/runs">Go to runs</a>.
          </p>
        </div>
      );
  }
}

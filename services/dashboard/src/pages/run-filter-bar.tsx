import { MAX_PAGE_SIZE, StateType } from '@outpost/sdk/contracts';
import { useEffect, useState } from 'react';
import { api } from '../api/instance.js';
import { Options } from '../components/options.js';
import { useResource } from '../hooks/use-resource.js';
import { hasFilters, NO_FILTERS, type RunFilters, TIME_WINDOWS, type TimeWindow } from '../lib/run-filters.js';

const WINDOW_LABEL: Record<TimeWindow, string> = {
  '1h': 'Last hour',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
  all: 'Any time',
};

export function RunFilterBar({ filters, onChange }: { filters: RunFilters; onChange: (next: RunFilters) => void }) {
  const deployments = useResource((signal) => api.call('deploymentsList', { query: { limit: MAX_PAGE_SIZE }, signal }), []);
  const [tag, setTag] = useState(filters.tag ?? '');
  useEffect(() => setTag(filters.tag ?? ''), [filters.tag]);

  const toggleState = (type: StateType) => {
    const states = filters.states.includes(type) ? filters.states.filter((s) => s !== type) : [...filters.states, type];
    onChange({ ...filters, states });
  };
  const applyTag = () => {
    const next = tag.trim() || null;
    if (next !== filters.tag) onChange({ ...filters, tag: next });
  };
  const active = hasFilters(filters);
  const flows = [...new Set(deployments.data?.items.map((d) => d.flowName))].sort();
  if (filters.flow && !flows.includes(filters.flow)) flows.unshift(filters.flow);

  return (
    <div className="filter-bar" data-testid="runs-filters">
      <fieldset className="state-filter" aria-label="State">
        {StateType.options.map((type) => (
          <button
            type="button"
            key={type}
            className={`chip state-chip state-${type.toLowerCase()}${filters.states.includes(type) ? ' chip-on' : ''}`}
            aria-pressed={filters.states.includes(type)}
            onClick={() => toggleState(type)}
            data-testid={`filter-state-${type}`}
          >
            {type.charAt(0) + type.slice(1).toLowerCase()}
          </button>
        ))}
      </fieldset>
      <div className="filter-row">
        <select
          value={filters.deploymentId ?? ''}
          onChange={(e) => onChange({ ...filters, deploymentId: e.target.value || null })}
          aria-label="Deployment"
          data-testid="filter-deployment"
        >
          <option value="">All deployments</option>
          {filters.deploymentId && !deployments.data?.items.some((d) => d.id === filters.deploymentId) && (
            <option value={filters.deploymentId}>{filters.deploymentId}</option>
          )}
          {deployments.data?.items.map((d) => (
            <option key={d.id} value={d.id}>
              {d.flowName}/{d.name}
            </option>
          ))}
        </select>
        <select
          value={filters.flow ?? ''}
          onChange={(e) => onChange({ ...filters, flow: e.target.value || null })}
          aria-label="Flow"
          data-testid="filter-flow"
        >
          <option value="">All flows</option>
          <Options values={flows} />
        </select>
        <input
          type="search"
          placeholder="Tag"
          value={tag}
          onChange={(e) => setTag(e.target.value)}
          onBlur={applyTag}
          onKeyDown={(e) => {
            if (e.key === 'Enter') applyTag();
          }}
          aria-label="Tag"
          data-testid="filter-tag"
        />
        <select
          value={filters.window}
          onChange={(e) => onChange({ ...filters, window: e.target.value as TimeWindow })}
          aria-label="Created within"
          data-testid="filter-window"
        >
          <Options values={TIME_WINDOWS} label={(w) => WINDOW_LABEL[w]} />
        </select>
        {active && (
          <button
            type="button"
            className="button button-quiet"
            onClick={() => onChange({ ...NO_FILTERS, chart: filters.chart })}
            data-testid="filter-clear"
          >
            Clear filters
          </button>
        )}
      </div>
    </div>
  );
}

import type { OutpostEvent } from '@outpost/sdk/contracts';
import { CelEvaluationError, compileTemplate } from '../cel/index.js';

/** What a template binds: the event that caused the notification, and the automation that sent it. */
export const TEMPLATE_VARIABLES = ['event', 'automation'] as const;

export interface TemplateBindings {
  event: OutpostEvent;
  automation: { id: string | null; name: string | null };
}

/** A channel's subject when neither the notify action nor the channel gives one. */
export const DEFAULT_SUBJECT =
  '[Outpost] {{ event.kind }}: {{ event.resource.name != null ? event.resource.name : event.resource.id }}';

/** A channel's body when neither the notify action nor the channel gives one. */
export const DEFAULT_BODY = [
  '{{ event.kind }} for {{ event.resource.kind }} {{ event.resource.name != null ? event.resource.name : event.resource.id }}',
  'at {{ event.occurredAt }}.',
  '{{ has(event.payload.state) && has(event.payload.state.message) && event.payload.state.message != null ? "Message: " + event.payload.state.message : "" }}',
].join('\n');

/**
 * Renders one `{{ }}` template to text. A template compiled when its channel or automation was saved
 * cannot fail to compile here; one that fails to evaluate (a field this event lacks) says so in the
 * text rather than losing the notification.
 */
export function renderText(template: string, bindings: TemplateBindings): string {
  try {
    const value = compileTemplate(template, TEMPLATE_VARIABLES).render(bindings as unknown as Record<string, unknown>);
    return (typeof value === 'string' ? value : JSON.stringify(value)).trim();
  } catch (error) {
    const why = error instanceof CelEvaluationError ? error.message : String((error as Error).message ?? error);
    return `(template could not be rendered: ${why})`;
  }
}

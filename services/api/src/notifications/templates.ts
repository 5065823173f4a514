import type { OutpostEvent } from '@outpost/sdk/contracts';
import { celSandbox } from '../cel/sandbox.js';

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
 * Renders one `{{ }}` template to text, in the CEL sandbox. A template compiled when its channel or
 * automation was saved cannot fail to compile here; one that fails to evaluate (a field this event
 * lacks) or runs past its budget says so in the text rather than losing the notification.
 */
export async function renderText(workspaceId: string, template: string, bindings: TemplateBindings): Promise<string> {
  const [result] = await celSandbox().run(
    workspaceId,
    [bindings as unknown as Record<string, unknown>],
    [{ kind: 'template', template, variables: TEMPLATE_VARIABLES, bindings: 0 }],
  );
  if (!result?.ok) return `(template could not be rendered: ${result?.message ?? 'not evaluated'})`;
  const value = result.value;
  return (typeof value === 'string' ? value : JSON.stringify(value)).trim();
}

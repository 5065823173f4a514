/*
 * What no pod of a run may do, whoever asked for it: share the node's namespaces, run privileged
 * or gain privileges, add capabilities, mount the node's filesystem, bind the node's ports, or turn
 * off seccomp or AppArmor. The worker refuses to start with a base job template that asks for any
 * of it, and checks every Job it builds again before creating it: job variables never add these,
 * and a template that was mis-written, or a change to the manifest code, gets a refusal instead of
 * a pod with the node's privileges. Pure: no I/O.
 */

/** One thing a pod may not do: where it is in the Job, and why it is refused. */
export interface PodPolicyProblem {
  path: string;
  message: string;
}

function object(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function list(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.map(object) : [];
}

const HOST_NAMESPACES = {
  hostPID: "the node's process namespace",
  hostIPC: "the node's IPC namespace",
  hostNetwork: "the node's network namespace",
} as const;

/** The container lists of a pod spec: the template's own are the only ones a run's pod may have. */
export const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

/** The securityContext a flow container gets when the base job template gives it none. */
export const DEFAULT_FLOW_SECURITY_CONTEXT = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
  runAsNonRoot: true,
} as const;

function securityContextProblems(context: unknown, at: string): PodPolicyProblem[] {
  const sc = object(context);
  const problems: PodPolicyProblem[] = [];
  if (sc.privileged === true) problems.push({ path: `${at}.privileged`, message: 'a privileged container has the node' });
  if (sc.allowPrivilegeEscalation === true)
    problems.push({ path: `${at}.allowPrivilegeEscalation`, message: 'a process of the flow may not gain privileges' });
  const added = object(sc.capabilities).add;
  if (Array.isArray(added) && added.length > 0)
    problems.push({ path: `${at}.capabilities.add`, message: 'a flow container gets no capabilities beyond the default' });
  if (object(sc.windowsOptions).hostProcess === true)
    problems.push({ path: `${at}.windowsOptions.hostProcess`, message: 'a host process container has the node' });
  if (sc.procMount === 'Unmasked') problems.push({ path: `${at}.procMount`, message: "the node's /proc stays masked" });
  if (object(sc.seccompProfile).type === 'Unconfined')
    problems.push({ path: `${at}.seccompProfile.type`, message: 'seccomp stays on (RuntimeDefault or Localhost)' });
  return problems;
}

/**
 * Why a pod template (`metadata` and `spec`, as in a Job's `spec.template`) may not run a flow, each
 * problem with its path under `at`. Empty: nothing the policy refuses.
 */
export function podTemplateProblems(podTemplate: unknown, at = 'spec.template'): PodPolicyProblem[] {
  const template = object(podTemplate);
  const spec = object(template.spec);
  const problems: PodPolicyProblem[] = [];
  for (const [field, what] of Object.entries(HOST_NAMESPACES)) {
    if (spec[field] === true) problems.push({ path: `${at}.spec.${field}`, message: `a run's pod may not share ${what}` });
  }
  problems.push(...securityContextProblems(spec.securityContext, `${at}.spec.securityContext`));
  list(spec.volumes).forEach((volume, i) => {
    if (volume.hostPath !== undefined && volume.hostPath !== null)
      problems.push({ path: `${at}.spec.volumes[${i}].hostPath`, message: "a run's pod may not mount the node's files" });
  });
  for (const kind of CONTAINER_LISTS) {
    list(spec[kind]).forEach((container, i) => {
      problems.push(...securityContextProblems(container.securityContext, `${at}.spec.${kind}[${i}].securityContext`));
      list(container.ports).forEach((port, j) => {
        if (typeof port.hostPort === 'number' && port.hostPort !== 0)
          problems.push({
            path: `${at}.spec.${kind}[${i}].ports[${j}].hostPort`,
            message: "a run's pod may not bind the node's ports",
          });
      });
    });
  }
  // The annotations that still switch seccomp and AppArmor off on clusters that read them.
  for (const [key, value] of Object.entries(object(object(template.metadata).annotations))) {
    const confinement =
      key.startsWith('container.apparmor.security.beta.kubernetes.io/') ||
      key.startsWith('seccomp.security.alpha.kubernetes.io/');
    if (confinement && value === 'unconfined')
      problems.push({ path: `${at}.metadata.annotations["${key}"]`, message: 'seccomp and AppArmor stay on' });
  }
  return problems;
}

/** The names of each container list of a pod spec, to compare a Job's with its template's. */
export function containerNames(podSpec: unknown): Record<(typeof CONTAINER_LISTS)[number], string[]> {
  const spec = object(podSpec);
  const names = (kind: (typeof CONTAINER_LISTS)[number]) =>
    list(spec[kind]).map((c, i) => (typeof c.name === 'string' ? c.name : `#${i}`));
  return {
    containers: names('containers'),
    initContainers: names('initContainers'),
    ephemeralContainers: names('ephemeralContainers'),
  };
}

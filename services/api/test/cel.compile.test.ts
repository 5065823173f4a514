import { describe, expect, it } from 'vitest';
import { CelCompileError, CelEvaluationError, CelTemplateError, compileCel, compileTemplate } from '../src/cel/index.js';

const event = {
  kind: 'flow-run.failed',
  payload: { auc: 0.71, count: 3, deployment: 'etl/daily', nested: { path: 's3://bucket/a.csv' } },
  related: [{ kind: 'flow', id: 'f1', name: 'etl' }],
};

describe('CEL expressions', () => {
  it('evaluates a filter over an event, with numbers of either kind compared', () => {
    expect(compileCel('event.kind == "flow-run.failed" && event.payload.auc < 0.8', ['event']).matches({ event })).toBe(true);
    expect(compileCel('event.payload.count > 2', ['event']).matches({ event })).toBe(true);
    expect(compileCel('event.related.exists(r, r.kind == "flow" && r.name == "etl")', ['event']).matches({ event })).toBe(true);
    expect(compileCel('event.kind.startsWith("asset.")', ['event']).matches({ event })).toBe(false);
  });

  it('reports a syntax error with its line and column', () => {
    try {
      compileCel('event.kind == "a" &&\n  event.x +* 2', ['event']);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CelCompileError);
      expect((error as CelCompileError).problem.line).toBe(2);
      expect((error as CelCompileError).problem.column).toBe(11);
    }
  });

  it('reports an unknown variable at its position, but accepts a macro loop variable', () => {
    expect(() => compileCel('event.related.all(x, x.kind != "")', ['event'])).not.toThrow();
    try {
      compileCel('event.kind == "a" || evnt.kind == "b"', ['event']);
      expect.unreachable();
    } catch (error) {
      expect((error as CelCompileError).problem).toEqual({
        message: 'unknown variable "evnt" (use "event")',
        line: 1,
        column: 22,
      });
    }
  });

  it('treats an evaluation error as no match, and throws it from evaluate', () => {
    const program = compileCel('event.payload.missing.x == 1', ['event']);
    expect(program.matches({ event })).toBe(false);
    expect(() => program.evaluate({ event })).toThrow(CelEvaluationError);
  });

  it('returns JSON values: integers as numbers, maps as objects', () => {
    expect(compileCel('{"n": 1 + 2, "l": [event.payload.count]}', ['event']).evaluate({ event })).toEqual({ n: 3, l: [3] });
  });
});

describe('CEL templates', () => {
  it('keeps the type of a whole-string placeholder and interpolates the rest', () => {
    const template = compileTemplate(
      {
        path: '{{ event.payload.nested.path }}',
        n: '{{ event.payload.count }}',
        label: 'run {{ event.payload.count }} of {{ event.kind }}',
        fixed: 7,
      },
      ['event'],
    );
    expect(template.render({ event })).toEqual({ path: 's3://bucket/a.csv', n: 3, label: 'run 3 of flow-run.failed', fixed: 7 });
  });

  it('names the field and position of a placeholder that does not compile', () => {
    try {
      compileTemplate({ parameters: { path: 'x {{ event.payload. }}' } }, ['event']);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CelTemplateError);
      expect((error as CelTemplateError).path).toBe('parameters.path');
      expect((error as CelTemplateError).problem.line).toBe(1);
      expect((error as CelTemplateError).problem.column).toBeGreaterThanOrEqual(6);
    }
  });
});

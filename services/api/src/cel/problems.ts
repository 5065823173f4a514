import type { FieldError } from '@outpost/sdk/contracts';
import { DomainError } from '../domain-error.js';
import { CelCompileError, type CelProblem, CelTemplateError, compileCel, compileTemplate } from './index.js';

/*
 * An expression or template in a request body that does not compile is the client's mistake, so
 * it is a 422 whose field error names the body path of the expression (`body.trigger.match`,
 * `body.actions.0.parameters.path`) and whose message ends in "(line L, column C)": the same shape
 * every other invalid field has, with the position inside the string.
 */

/** `<message> (line L, column C)`: how every CEL problem reads in an answer. */
export function celProblemMessage(problem: CelProblem): string {
  return `${problem.message} (line ${problem.line}, column ${problem.column})`;
}

function joinPath(base: string, path: string): string {
  return [base, path].filter((part) => part !== '').join('.');
}

/**
 * The field error of a CEL compile or template error found at `path` (the body path of the
 * expression or of the template's root); null for any other error.
 */
export function celFieldError(error: unknown, path: string): FieldError | null {
  if (error instanceof CelTemplateError) return { path: joinPath(path, error.path), message: celProblemMessage(error.problem) };
  if (error instanceof CelCompileError) return { path, message: celProblemMessage(error.problem) };
  return null;
}

/** A 422 (`unprocessable`) carrying these CEL field errors. */
export function celValidationError(errors: FieldError[]): DomainError {
  const first = errors[0];
  const detail = first ? `${first.path}: ${first.message}` : 'an expression does not compile';
  return new DomainError('unprocessable', detail, { errors });
}

/**
 * Collects the problems of several expressions and templates at once, so one answer lists them
 * all: `check.expression('body.trigger.match', source, ['event'])`, then `check.throwIfAny()`.
 */
export class CelChecks {
  readonly errors: FieldError[] = [];

  expression(path: string, source: string, variables: readonly string[]): void {
    try {
      compileCel(source, variables);
    } catch (error) {
      const field = celFieldError(error, path);
      if (!field) throw error;
      this.errors.push(field);
    }
  }

  template(path: string, template: unknown, variables: readonly string[]): void {
    try {
      compileTemplate(template, variables);
    } catch (error) {
      const field = celFieldError(error, path);
      if (!field) throw error;
      this.errors.push(field);
    }
  }

  throwIfAny(): void {
    if (this.errors.length > 0) throw celValidationError(this.errors);
  }
}

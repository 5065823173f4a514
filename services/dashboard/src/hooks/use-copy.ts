import { useRef, useState } from 'react';

/**
 * Copying a value shown once (a new key, token or link) from its read-only `field`: `copied` says
 * whether it worked; when the clipboard refuses, the field's text is selected for a manual copy.
 */
export function useCopy(value: string) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const field = useRef<HTMLInputElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      // clipboard access can be refused (no user activation, insecure context): select it for a manual copy
      field.current?.select();
      setCopied('failed');
    }
  };
  return { copied, copy, field };
}

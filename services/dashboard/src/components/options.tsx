/** A select's options, one a value, each showing the value itself or what `label` makes of it. */
export function Options<T extends string>({ values, label }: { values: readonly T[]; label?: (value: T) => string }) {
  return values.map((value) => (
    <option key={value} value={value}>
      {label ? label(value) : value}
    </option>
  ));
}

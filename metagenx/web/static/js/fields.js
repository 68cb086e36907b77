// Numbers typed in form fields, checked with messages that say what is wrong and what is allowed.

/**
 * The number typed in `input` (null when it is empty); throws an Error naming `label` when it is not
 * a number, not whole while `whole`, below `min`, or not above `above`.
 */
export function numberField(input, label, { whole = false, min = null, above = null } = {}) {
  const text = input.value.trim();
  if (input.validity?.badInput) throw new Error(`${label} must be a number.`);
  if (text === '') return null;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`${label} must be a number (you typed “${text}”).`);
  if (whole && !Number.isInteger(value)) throw new Error(`${label} must be a whole number (you typed “${text}”).`);
  if (min !== null && value < min) throw new Error(`${label} must be ${min} or more (you typed “${text}”).`);
  if (above !== null && value <= above) throw new Error(`${label} must be more than ${above} (you typed “${text}”).`);
  return value;
}

/**
 * `settings` (from the advanced JSON) with `value` set at `path` (e.g. ['solve', 'budget']); throws when
 * the JSON gives that setting another value, so that neither silently wins.
 */
export function merge(settings, path, value, label) {
  if (value === null) return settings;
  let holder = settings;
  for (const key of path.slice(0, -1)) {
    if (holder[key] === undefined || holder[key] === null) holder[key] = {};
    if (typeof holder[key] !== 'object' || Array.isArray(holder[key])) throw new Error(`In the advanced settings, “${key}” must be a JSON object.`);
    holder = holder[key];
  }
  const key = path[path.length - 1];
  const given = holder[key];
  if (given !== undefined && given !== null && given !== value) {
    throw new Error(`${label} is ${value} in its field but ${JSON.stringify(given)} in the advanced settings (“${path.join('.')}”): set it in one place.`);
  }
  holder[key] = value;
  return settings;
}

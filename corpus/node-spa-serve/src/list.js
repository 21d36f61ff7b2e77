// The list's state: pure functions, so the bundle can be tested without a browser.
export function addItem(items, name) {
  const trimmed = name.trim();
  if (!trimmed || items.includes(trimmed)) return items;
  return [...items, trimmed];
}

export function removeItem(items, name) {
  return items.filter((i) => i !== name);
}

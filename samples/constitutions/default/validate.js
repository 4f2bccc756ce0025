// Part 2 of 4: validate(input) → {valid, description}. input is the proposal's JSON text.
export function validate(input) {
  let proposal;
  try {
    proposal = JSON.parse(input);
  } catch (e) {
    return { valid: false, description: `the proposal is not JSON: ${e.message}` };
  }
  if (proposal === null || typeof proposal !== 'object' || !Array.isArray(proposal.actions)) {
    return { valid: false, description: 'a proposal is {actions: [{name, args}]}' };
  }
  const errors = [];
  proposal.actions.forEach((action, i) => {
    const definition = action && typeof action.name === 'string' ? actions.get(action.name) : undefined;
    if (definition === undefined) {
      errors.push(`${action && action.name}: no such action`);
      return;
    }
    try {
      definition.validate(action.args);
    } catch (e) {
      errors.push(`${action.name} at position ${i} failed validation: ${e.message}`);
    }
  });
  if (errors.length > 0) return { valid: false, description: errors.join(', ') };
  return { valid: true, description: 'OK' };
}

// A minimal stand-in for the `reflect-metadata` polyfill (the Metadata Reflection API proposal), which
// @peculiar/x509 needs through its dependency tsyringe: tsyringe throws at load time unless
// `Reflect.getMetadata` exists, and then only uses getMetadata / getOwnMetadata / defineMetadata on
// class constructors. The real polyfill is not a dependency of this repository, so this module
// provides just those calls. It must be imported before '@peculiar/x509'; if a full polyfill is
// already installed it is left alone.

type MetadataTable = Map<string | symbol | undefined, Map<unknown, unknown>>;

interface ReflectWithMetadata {
  getMetadata?: (key: unknown, target: object, property?: string | symbol) => unknown;
  getOwnMetadata?: (key: unknown, target: object, property?: string | symbol) => unknown;
  defineMetadata?: (key: unknown, value: unknown, target: object, property?: string | symbol) => void;
  metadata?: (key: unknown, value: unknown) => (target: object, property?: string | symbol) => void;
}

function install(): void {
  const reflect = Reflect as unknown as ReflectWithMetadata;
  if (typeof reflect.getMetadata === 'function') return;
  const tables = new WeakMap<object, MetadataTable>();

  const getOwn = (key: unknown, target: object, property?: string | symbol): unknown =>
    tables.get(target)?.get(property)?.get(key);

  const define = (key: unknown, value: unknown, target: object, property?: string | symbol): void => {
    let table = tables.get(target);
    if (table === undefined) {
      table = new Map();
      tables.set(target, table);
    }
    let entries = table.get(property);
    if (entries === undefined) {
      entries = new Map();
      table.set(property, entries);
    }
    entries.set(key, value);
  };

  // Inherited lookup follows the prototype chain, as the proposal specifies (a subclass constructor's
  // prototype is its parent class).
  const get = (key: unknown, target: object, property?: string | symbol): unknown => {
    for (let current: object | null = target; current !== null; current = Object.getPrototypeOf(current)) {
      const entries = tables.get(current)?.get(property);
      if (entries?.has(key)) return entries.get(key);
    }
    return undefined;
  };

  reflect.getOwnMetadata = getOwn;
  reflect.defineMetadata = define;
  reflect.getMetadata = get;
  reflect.metadata = (key, value) => (target, property) => define(key, value, target, property);
}

install();

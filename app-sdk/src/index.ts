// @synod/app-sdk: what Synod app developers import.
export { readBundleDir, BundleError, BUNDLE_BYTES_MAX, type Bundle, type BundleModule } from './bundle.ts';

import { fileURLToPath } from 'node:url';

/**
 * The server's own installation: this file is backend/{src,dist}/install/paths.*, three levels
 * below the checkout (or /opt/postern), which holds installers/ and, once `pnpm package` ran,
 * dist/packages/.
 */
export const INSTALL_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Where the artefacts are served from unless POSTERN_PACKAGES_DIR says otherwise. */
export const DEFAULT_PACKAGES_DIR = fileURLToPath(new URL('../../../dist/packages/', import.meta.url));

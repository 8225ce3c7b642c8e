// The dashboard's page: built into the compiled server's folder
// (dist/src/serve/dashboard/public), served under /dashboard/.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/dashboard/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../../../dist/src/serve/dashboard/public', import.meta.url)),
    emptyOutDir: true,
    // One small page on loopback: no source maps in the package.
    sourcemap: false,
  },
});

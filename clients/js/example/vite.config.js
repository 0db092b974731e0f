// The example imports the package by name, as an app would; the names resolve to this
// package's build output (dist/, from `npm run build`), which is what npm publishes.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const built = (file) => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@tokenward\/client\/react$/, replacement: built('react.js') },
      { find: /^@tokenward\/client$/, replacement: built('index.js') },
    ],
  },
  // In development, run the BFF in front of this server (spa.upstream) and open the BFF.
  server: { port: 5173, strictPort: true },
  build: { outDir: 'dist', emptyOutDir: true },
});

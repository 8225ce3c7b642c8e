// `node --import tensorshare/register app.js`: routes onnxruntime-node's
// InferenceSession.create through the tensorshare daemon (see hook.ts).
// Configured by environment only (settings.ts); TENSORSHARE_ENABLED=false
// turns it off.
import { installHook, onnxruntimeModules } from './hook.js';
import { sharedClient } from './shared-client.js';
import { clientSettings } from './settings.js';

const settings = clientSettings({}, process.env, 1000);
if (settings.enabled) {
  for (const ort of onnxruntimeModules()) {
    installHook(ort.InferenceSession, {
      settings,
      client: () => sharedClient({ ...settings, name: `register:${process.argv[1] ?? 'node'}[${process.pid}]` }),
    });
  }
}

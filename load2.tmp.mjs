import ort from 'onnxruntime-node';
import { storeSessionOptions } from './dist/src/store/ort-options.js';
const [graph, dir, variant] = process.argv.slice(2);
const o = storeSessionOptions('fast-open', dir, { logSeverityLevel: 4 }, 'disabled');
if (variant === 'nofolder') delete o.extra?.session?.model_external_initializers_file_folder_path;
console.log(JSON.stringify(o));
try { const s = await ort.InferenceSession.create(graph, o); console.log('LOADED'); await s.release(); console.log('RELEASED'); } catch (e) { console.log('ERR', e.message.slice(0, 300)); }

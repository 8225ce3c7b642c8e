import ort from 'onnxruntime-node';
try { const s = await ort.InferenceSession.create(process.argv[2], { graphOptimizationLevel: 'disabled', logSeverityLevel: 4 }); console.log('LOADED'); } catch (e) { console.log('ERR', e.message.slice(0, 200)); }

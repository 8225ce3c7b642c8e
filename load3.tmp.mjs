import ort from 'onnxruntime-node';
const s = await ort.InferenceSession.create(process.argv[2], { graphOptimizationLevel: 'disabled', logSeverityLevel: 4, enableMemPattern: false, extra: { session: { disable_prepacking: '1', model_external_initializers_file_folder_path: process.argv[3] ?? '' } } }); console.log('LOADED'); await s.release(); console.log('RELEASED');

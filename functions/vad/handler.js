// VAD function: WAV bytes in, speech segments out (start and end in seconds).
import { decodeWav, detectSpeech, mediaBytes, WAV_MAGIC } from 'tensorshare/handlers';

export const metadata = {
  inputs: [{ name: 'audio', datatype: 'BYTES', shape: [1] }],
  outputs: [
    { name: 'segments', datatype: 'FP32', shape: [-1, 2] },
    { name: 'probabilities', datatype: 'FP32', shape: [-1] },
  ],
};

export async function handle(request, ctx) {
  const audio = request.inputs.find((t) => t.name === 'audio');
  const bytes = mediaBytes(audio.data[0], WAV_MAGIC); // raw WAV, or base64 text from a JSON body
  const { segments, probabilities } = await detectSpeech(decodeWav(bytes), ctx.run);
  return {
    outputs: [
      {
        name: 'segments',
        datatype: 'FP32',
        shape: [segments.length, 2],
        data: Float32Array.from(segments.flatMap((s) => [s.startS, s.endS])),
      },
      {
        name: 'probabilities',
        datatype: 'FP32',
        shape: [probabilities.length],
        data: Float32Array.from(probabilities),
      },
    ],
  };
}

// Loads savepoint's tfjs exports with the real TensorFlow.js (@tensorflow/tfjs from .venvs/tfjs,
// CPU backend) and predicts: run by tests/interop/test_tfjs_interop.py as
//   node tfjs_check.js '<json spec>'
// spec: {"tfjs": "<.venvs/tfjs/node_modules>", "cases": [{"name", "dir", "runs": [{"inputs":
//        [{"file", "shape", "dtype"}], "outputs_prefix"}]}]}
// model.json goes through tfjs's own parser (tf.io.getModelArtifactsForJSON) with the shards
// read from disk in manifest order -- what tf.loadLayersModel('file://...') does in tfjs-node --
// then tf.loadLayersModel on that IOHandler. For each run, output i is written as raw
// little-endian float32 to "<outputs_prefix>.<i>.bin"; one JSON line per case says what loaded.
'use strict';
const fs = require('fs');
const path = require('path');

const spec = JSON.parse(process.argv[2]);
const tf = require(path.join(spec.tfjs, '@tensorflow', 'tfjs'));

function ioHandler(dir) {
  return {
    load: async () => {
      const modelJSON = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const buffers = [];
        for (const group of manifest) {
          for (const p of group.paths) {
            const b = fs.readFileSync(path.join(dir, p));
            buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
          }
        }
        return [tf.io.getWeightSpecs(manifest), tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

function readTensor(input) {
  const b = fs.readFileSync(input.file);
  const raw = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  const values = input.dtype === 'int32' ? new Int32Array(raw) : new Float32Array(raw);
  return tf.tensor(values, input.shape, input.dtype);
}

async function main() {
  await tf.setBackend('cpu');
  for (const c of spec.cases) {
    const model = await tf.loadLayersModel(ioHandler(c.dir));
    const shapes = [];
    for (const run of c.runs) {
      const inputs = run.inputs.map(readTensor);
      let outputs = model.predict(inputs.length === 1 ? inputs[0] : inputs);
      outputs = Array.isArray(outputs) ? outputs : [outputs];
      for (let i = 0; i < outputs.length; i++) {
        const values = await outputs[i].data();
        fs.writeFileSync(`${run.outputs_prefix}.${i}.bin`, Buffer.from(values.buffer));
      }
      shapes.push(outputs.map((t) => t.shape));
    }
    console.log(JSON.stringify({
      name: c.name, backend: tf.getBackend(), tfjs: tf.version.tfjs,
      inputs: model.inputNames, input_shapes: model.inputs.map((t) => t.shape),
      outputs: model.outputNames, output_shapes: shapes,
      layers: model.layers.map((l) => l.getClassName()), weights: model.weights.length,
    }));
  }
}

main().catch((e) => { console.error(e && e.stack ? e.stack : e); process.exit(1); });

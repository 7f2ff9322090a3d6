// Loads a module the single executable keeps as an asset (build/bundle.mjs, SEA_ASSETS) instead
// of inside its main script: V8 holds a script's whole source for the life of the process, and
// these modules serve one rare step each, so they are compiled only when that step first runs.
// They are bundled with their dependencies and need nothing but Node's built-in modules, which
// is all the single executable's `require` loads.
const { getAsset } = require('node:sea');
const { compileFunction } = require('node:vm');

exports.loadSeaAsset = function loadSeaAsset(name) {
  const wrapper = compileFunction(getAsset(name, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], { filename: name });
  const module = { exports: {} };
  wrapper.call(module.exports, module.exports, require, module, __filename, __dirname);
  return module.exports;
};

// Which backend to run on, and why: WebGPU when the browser offers a hardware adapter, the CPU
// (WebAssembly) otherwise, including when the only adapter is a software fallback such as
// SwiftShader, which is slower than the CPU backend.

/**
 * Returns `{backend: 'webgpu' | 'cpu', reason, adapter?}` for the page's `choice` ('auto', 'webgpu',
 * 'cpu'); `adapter` names the WebGPU adapter as the browser describes it.
 */
export async function chooseBackend(choice) {
  if (choice === 'cpu') return { backend: 'cpu', reason: 'CPU chosen in the page' };
  if (!('gpu' in navigator)) {
    return { backend: 'cpu', reason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  }
  let adapter = null;
  try {
    adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { backend: 'cpu', reason: `WebGPU adapter request failed: ${e.message ?? e}` };
  }
  if (!adapter) return { backend: 'cpu', reason: 'WebGPU offers no adapter in this browser' };
  const info = adapter.info ?? {};
  const fallback = info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
  if (choice === 'webgpu') {
    return { backend: 'webgpu', adapter: name, reason: `WebGPU chosen in the page (${name}${fallback ? ', software fallback' : ''})` };
  }
  if (fallback) {
    return { backend: 'cpu', reason: `the only WebGPU adapter is a software fallback (${name}); the CPU backend is faster` };
  }
  return { backend: 'webgpu', adapter: name, reason: `hardware WebGPU adapter: ${name}` };
}

// A MicroPython VM (the official WebAssembly port, npm @micropython/micropython-webassembly-pyscript)
// that the tests drive: one JSON request per stdin line, one JSON answer per stdout line.
//   {"file": "/eilfw/proto.py", "data": "<base64>"}   writes a file into the VM's file system
//   {"code": "print(1)"}                                runs code in the VM's one global scope
// Answer: {"out": "<what the code printed>", "error": "<traceback>" or null}.
// argv: the port's micropython.mjs, the heap size in bytes (the Pico's free heap, say).
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const [module, heap] = process.argv.slice(2);
const { loadMicroPython } = await import(pathToFileURL(module).href);
let out = [];  // bytes (without line buffering the port hands them over one by one)
const take = (b) => { out.push(...(typeof b === "string" ? Buffer.from(b) : b)); };
const mp = await loadMicroPython({
  heapsize: Number(heap), linebuffer: false, stdout: take, stderr: take,
});
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!line.trim()) continue;
  const req = JSON.parse(line);
  out = [];
  let error = null;
  try {
    if (req.file !== undefined) {
      const parts = req.file.split("/").filter(Boolean);
      for (let i = 1; i < parts.length; i++) {
        const dir = "/" + parts.slice(0, i).join("/");
        try { mp.FS.mkdir(dir); } catch (e) { /* exists */ }
      }
      mp.FS.writeFile(req.file, Buffer.from(req.data, "base64"));
    } else {
      mp.runPython(req.code);
    }
  } catch (e) {
    error = String(e && e.message !== undefined ? e.message : e);
  }
  process.stdout.write(JSON.stringify({ out: Buffer.from(out).toString("utf8"), error }) + "\n");
}

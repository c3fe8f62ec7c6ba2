//! `cortex-emu init <name> --runtime ... [--mcp]`: a tool folder that passes `cortex-emu test`
//! out of the box.

use std::path::{Path, PathBuf};

use crate::registry::Runtime;

fn function_source(runtime: Runtime) -> &'static str {
    match runtime {
        Runtime::Python => {
            "def cortexone_handler(event, context):\n    name = event.get(\"name\", \"World\")\n    return {\"statusCode\": 200, \"body\": {\"message\": f\"Hello, {name}!\"}}\n"
        }
        Runtime::Javascript => {
            "function cortexone_handler(event, context) {\n  var name = event.name || \"World\";\n  return { statusCode: 200, body: { message: \"Hello, \" + name + \"!\" } };\n}\n"
        }
        Runtime::Lua => {
            "function cortexone_handler(event, context)\n  local name = event.name or \"World\"\n  return {statusCode = 200, body = {message = \"Hello, \" .. name .. \"!\"}}\nend\n"
        }
    }
}

fn mcp_source(runtime: Runtime) -> &'static str {
    match runtime {
        Runtime::Python => include_str!("templates/mcp.py"),
        Runtime::Javascript => include_str!("templates/mcp.js"),
        Runtime::Lua => include_str!("templates/mcp.lua"),
    }
}

const FUNCTION_TEST: &str =
    "{\"event\": {\"name\": \"Ada\"}, \"expect\": {\"statusCode\": 200, \"body\": {\"message\": \"Hello, Ada!\"}}}\n";

const MCP_TEST: &str = "{\"event\": {\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"tools/call\", \"params\": {\"name\": \"greet\", \"arguments\": {\"name\": \"Ada\"}}},\n \"expect\": {\"statusCode\": 200, \"body\": {\"jsonrpc\": \"2.0\", \"id\": 1, \"result\": {\"content\": [{\"type\": \"text\", \"text\": \"Hello, Ada!\"}], \"isError\": false}}}}\n";

/// Creates `<functions>/<name>`; refuses to overwrite an existing folder.
pub fn init(functions: &Path, name: &str, runtime: Runtime, mcp: bool) -> Result<PathBuf, String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "{name:?} is not a tool name: use letters, digits, '-' and '_'"
        ));
    }
    let folder = functions.join(name);
    if folder.exists() {
        return Err(format!("{} already exists", folder.display()));
    }
    std::fs::create_dir_all(folder.join("tests"))
        .map_err(|e| format!("{}: {e}", folder.display()))?;
    let source = if mcp {
        mcp_source(runtime)
    } else {
        function_source(runtime)
    };
    let write = |rel: &str, text: &str| {
        std::fs::write(folder.join(rel), text)
            .map_err(|e| format!("{}: {e}", folder.join(rel).display()))
    };
    write(runtime.entry_file(), source)?;
    write(
        "tool.toml",
        &format!(
            "name = \"{name}\"\ntype = \"{}\"\ndescription = \"\"\n# timeout = 30      # seconds, at most 300\n# memory = 128      # MB, at most 512\n# secrets = []      # attached secrets: the handler's environment\n# http = true       # outbound HTTP (fetch, urllib, requests), answered per [network] mode\n{}",
            if mcp { "mcp" } else { "function" },
            if runtime == Runtime::Python {
                "# runtime = \"python:cpython\"  # run in this machine's CPython 3.13 (packages with native code)\n"
            } else {
                ""
            }
        ),
    )?;
    write(
        if mcp {
            "tests/tools-call.json"
        } else {
            "tests/hello.json"
        },
        if mcp { MCP_TEST } else { FUNCTION_TEST },
    )?;
    Ok(folder)
}

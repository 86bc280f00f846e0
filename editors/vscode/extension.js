// The nnspec extension: the TextMate grammar highlights .nn files (package.json
// says so); this client starts `nnspec lsp` for everything else: shape errors
// as you type, hover, completion, go to definition, symbols, rename, formatting.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

async function start() {
  const [command, ...args] = vscode.workspace
    .getConfiguration("nnspec")
    .get("server.command", ["nnspec", "lsp"]);
  client = new LanguageClient("nnspec", "nnspec", { command, args }, {
    documentSelector: [{ language: "nnspec" }],
  });
  try {
    await client.start();
  } catch (err) {
    // Most often no server is installed; highlighting works without one.
    client = undefined;
    vscode.window.showWarningMessage(
      `nnspec: could not start \`${command} ${args.join(" ")}\` (${err.message}); ` +
        'install the server with pip install "nnspec[lsp]", or set nnspec.server.command',
    );
  }
}

async function stop() {
  if (client) {
    await client.stop();
    client = undefined;
  }
}

async function activate(context) {
  await start();
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("nnspec.server.command")) {
        await stop();
        await start();
      }
    }),
  );
}

module.exports = { activate, deactivate: stop };

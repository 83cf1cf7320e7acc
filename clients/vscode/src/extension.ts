/** Extension entry point: everything that touches VS Code is in ./host. */
export { activate, deactivate } from "./host";

import type { NodeAPI } from 'node-red';

/** Node-RED 4's plugin registry, which @types/node-red does not describe yet. */
interface PluginApi {
  plugins: { registerPlugin(id: string, definition: { type: string }): void };
}

const PLUGIN_ID = 'ivf-hub-sidebar';

/**
 * Editor plugin: the "IVF hub" sidebar tab. Everything it shows comes from the
 * hub's monitor API, fetched by the editor script in ivf-hub-sidebar.html; the
 * runtime part only registers the plugin so Node-RED serves that script.
 */
export = function init(RED: NodeAPI): void {
  (RED as unknown as PluginApi).plugins.registerPlugin(PLUGIN_ID, { type: 'ivf-hub-sidebar' });
};

// Public surface of the node agent: its controllers and its CRI connection.
export { buildAgent, type AgentOptions, type AgentParts } from './agent-controllers.js';
export { CriConnector, fixedCriSource, type CriConnectorOptions, type CriSource } from './cri-connector.js';
export * from './imagepuller/index.js';

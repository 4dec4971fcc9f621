// Test-side entry point for the loopback fakes; the code lives in
// components/offline so the offline benchmark can use it without importing
// from test/.
export * from "../../components/offline/fakeApiServers";

//test.js
const WebSocket = require("ws");
const url = process.env.LIVEGATE_URL;

const ws = new WebSocket(url, {
  headers: {
    "api-key": process.env.LITELLM_API_KEY || "sk-key-goes-here",
  },
});
ws.on("open", function open() {
    console.log("Connected to server.");
    ws.send(JSON.stringify({
        type: "response.create",
        response: {
            modalities: ["text"],
            instructions: "Please assist the user.",
        }
    }));
    ws.send(JSON.stringify({ type: "input_text", text: "hey there!" }));
});

ws.on("message", function incoming(message) {
    console.log(JSON.parse(message.toString()));
});

ws.on("error", function handleError(error) {
    console.error("Error: ", error);
});

"""The chat pane's logic without Textual: the conversation, stream statistics and costs, the streamed-vs-
batched comparison, and the Markdown export. Its SDK calls live in `gateway.chat`."""

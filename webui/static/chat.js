// Chat page for 한결. All user and bot text goes into the page with textContent, never as HTML.
(function () {
  "use strict";

  const STORAGE_KEY = "hangyeol.conversationId";
  const MAX_CHARS = 1000;
  const GREETING = "안녕하세요! 한국어 챗봇 한결이에요. 무엇이든 편하게 말을 걸어 주세요.";
  const NETWORK_ERROR = "서버에 연결할 수 없어요. 네트워크를 확인하고 다시 시도해 주세요.";

  const list = document.getElementById("messages");
  const form = document.getElementById("composer");
  const input = document.getElementById("input");
  const sendButton = document.getElementById("send");
  const newChatButton = document.getElementById("new-chat");
  const counter = document.getElementById("counter");

  let conversationId = loadConversationId();
  let busy = false;
  let composing = false; // a Hangul IME composition is in progress

  // --- storage (may be unavailable, e.g. in private windows) ---------------------------------
  function loadConversationId() {
    try { return window.localStorage.getItem(STORAGE_KEY); } catch (e) { return null; }
  }
  function saveConversationId(id) {
    conversationId = id;
    try {
      if (id) { window.localStorage.setItem(STORAGE_KEY, id); } else { window.localStorage.removeItem(STORAGE_KEY); }
    } catch (e) { /* the conversation just won't survive a reload */ }
  }

  // --- rendering -----------------------------------------------------------------------------
  function formatTime(iso) {
    const date = iso ? new Date(iso) : new Date();
    if (Number.isNaN(date.getTime())) { return ""; }
    return date.toLocaleTimeString("ko-KR", { hour: "numeric", minute: "2-digit" });
  }

  function scrollToBottom() {
    list.scrollTop = list.scrollHeight;
  }

  function addMessage(role, text, options) {
    const opts = options || {};
    const row = document.createElement("div");
    row.className = "row row-" + role;

    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = text;
    row.appendChild(bubble);

    if (role !== "error") {
      const time = document.createElement("time");
      time.className = "time";
      const iso = opts.createdAt || new Date().toISOString();
      time.dateTime = iso;
      time.textContent = formatTime(iso);
      row.appendChild(time);
    }
    if (opts.suggestions && opts.suggestions.length) {
      row.appendChild(renderChips(opts.suggestions));
    }
    list.appendChild(row);
    scrollToBottom();
    return row;
  }

  function renderChips(suggestions) {
    const chips = document.createElement("div");
    chips.className = "chips";
    chips.setAttribute("role", "group");
    chips.setAttribute("aria-label", "추천 질문");
    suggestions.forEach(function (suggestion) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.textContent = suggestion;
      chip.disabled = busy;
      chip.addEventListener("click", function () { send(suggestion); });
      chips.appendChild(chip);
    });
    return chips;
  }

  function showError(message) {
    addMessage("error", message || NETWORK_ERROR);
  }

  function showTyping() {
    const row = document.createElement("div");
    row.className = "row row-bot typing";
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.setAttribute("aria-label", "한결이 답장을 쓰고 있어요");
    for (let i = 0; i < 3; i += 1) {
      const dot = document.createElement("span");
      dot.className = "dot";
      bubble.appendChild(dot);
    }
    row.appendChild(bubble);
    list.appendChild(row);
    scrollToBottom();
    return row;
  }

  function clearMessages() {
    while (list.firstChild) { list.removeChild(list.firstChild); }
  }

  // --- state ---------------------------------------------------------------------------------
  function countChars(text) {
    return Array.from(text.trim().normalize("NFC")).length; // code points, as the server counts
  }

  function updateComposer() {
    const length = countChars(input.value);
    sendButton.disabled = busy || length === 0 || length > MAX_CHARS;
    counter.textContent = length > MAX_CHARS * 0.8 ? length.toLocaleString("ko-KR") + " / " + MAX_CHARS.toLocaleString("ko-KR") : "";
    counter.classList.toggle("over", length > MAX_CHARS);
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 160) + "px";
  }

  function setBusy(value) {
    busy = value;
    list.setAttribute("aria-busy", value ? "true" : "false");
    list.querySelectorAll(".chip").forEach(function (chip) { chip.disabled = value; });
    updateComposer();
  }

  // --- network -------------------------------------------------------------------------------
  async function readJson(response) {
    try { return await response.json(); } catch (e) { return null; }
  }

  function errorMessage(data) {
    return data && data.error && data.error.message ? data.error.message : null;
  }

  async function postChat(text) {
    const body = { message: text };
    if (conversationId) { body.conversation_id = conversationId; }
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body),
    });
    return { response: response, data: await readJson(response) };
  }

  async function send(rawText) {
    const text = rawText.trim();
    if (busy || !text) { return; }
    if (countChars(text) > MAX_CHARS) {
      showError("메시지가 너무 깁니다. " + MAX_CHARS.toLocaleString("ko-KR") + "자 이하로 입력해 주세요.");
      return;
    }
    addMessage("user", text);
    if (rawText === input.value) { input.value = ""; }
    setBusy(true);
    const typing = showTyping();
    try {
      let result = await postChat(text);
      const code = result.data && result.data.error && result.data.error.code;
      if (result.response.status === 404 && code === "conversation_not_found") {
        saveConversationId(null); // the stored conversation is gone: carry on in a new one
        result = await postChat(text);
      }
      typing.remove();
      if (result.response.ok && result.data) {
        saveConversationId(result.data.conversation_id);
        addMessage("bot", result.data.reply, {
          suggestions: result.data.fallback ? result.data.suggestions : [],
        });
      } else {
        showError(errorMessage(result.data) || "요청을 처리하지 못했어요. (HTTP " + result.response.status + ")");
      }
    } catch (e) {
      typing.remove();
      showError(NETWORK_ERROR);
    } finally {
      setBusy(false);
      input.focus();
    }
  }

  async function loadHistory() {
    if (!conversationId) { addMessage("bot", GREETING); return; }
    setBusy(true);
    try {
      const response = await fetch("/api/conversations/" + encodeURIComponent(conversationId), {
        headers: { "Accept": "application/json" },
      });
      const data = await readJson(response);
      if (response.status === 404) {
        saveConversationId(null);
        addMessage("bot", GREETING);
      } else if (!response.ok || !data) {
        showError(errorMessage(data) || "이전 대화를 불러오지 못했어요.");
      } else if (!data.messages.length) {
        addMessage("bot", GREETING);
      } else {
        data.messages.forEach(function (m) {
          addMessage(m.role === "user" ? "user" : "bot", m.text, { createdAt: m.created_at });
        });
      }
    } catch (e) {
      showError(NETWORK_ERROR);
    } finally {
      setBusy(false);
    }
  }

  // --- events --------------------------------------------------------------------------------
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send(input.value);
  });

  input.addEventListener("compositionstart", function () { composing = true; });
  input.addEventListener("compositionend", function () { composing = false; });

  input.addEventListener("keydown", function (event) {
    // Enter that confirms a Hangul syllable must not send a half-typed message.
    // keyCode 229 covers Safari, which fires this keydown after compositionend.
    if (event.isComposing || event.keyCode === 229 || composing) { return; }
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      send(input.value);
    }
  });

  input.addEventListener("input", updateComposer);

  newChatButton.addEventListener("click", function () {
    if (busy) { return; }
    saveConversationId(null);
    clearMessages();
    addMessage("bot", GREETING);
    input.focus();
  });

  updateComposer();
  loadHistory();
})();

/** NFV-VIM REST bodies (vim §1–2): owned by the guest-agent work; filled in there. */
export {};

;;; otp-thinking.el --- OTP design advice for Elixir, through eglot  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "27.1") (eglot "1.9"))
;; Keywords: languages, tools

;;; Commentary:

;; Registers the otp-thinking language server (`otp-thinking lsp', a Python package:
;; "pipx install ." in a clone of otp-thinking) with eglot for `elixir-mode', `elixir-ts-mode' and
;; `heex-ts-mode'.  Loading this file puts otp-thinking first in `eglot-server-programs' for
;; those modes; the entries already there (ElixirLS's "language_server.sh", Lexical, ...) stay
;; in the list behind it, and `otp-thinking-eglot-unregister' brings them back to the front.
;;
;; Eglot runs one server per buffer.  To get otp-thinking's advice and ElixirLS (or Lexical)
;; in the same buffer, run both behind a multiplexer such as rass (pip install rassumfrassum):
;;
;;   (setq otp-thinking-command
;;         '("rass" "--" "otp-thinking" "lsp" "--" "language_server.sh"))
;;
;; Usage:
;;
;;   (require 'otp-thinking)
;;   (add-hook 'elixir-mode-hook #'eglot-ensure)   ; or M-x eglot in an Elixir buffer

;;; Code:

(require 'cl-lib)
(require 'eglot)

(defgroup otp-thinking nil
  "OTP design advice for Elixir code from the otp-thinking language server."
  :group 'tools
  :prefix "otp-thinking-")

(defcustom otp-thinking-command '("otp-thinking" "lsp")
  "The command that starts the server, as a list: program and arguments.
With the package installed in a virtualenv instead of on PATH, use e.g.
\(\"/path/to/.venv/bin/python\" \"-m\" \"otp_thinking\" \"lsp\")."
  :type '(repeat string))

(defcustom otp-thinking-settings nil
  "Rule settings sent to the server as initializationOptions.
A plist with the keys of `.otp-thinking.toml', for example
\(:rules (:OTP101 \"error\" :dets-size-limit \"off\")
 :names (:task_supervisor \"MyApp.TaskSupervisor\")).
A `.otp-thinking.toml' in the project is read as well.  For settings per
project, use `eglot-workspace-configuration' with the section :otpThinking."
  :type 'plist)

(defcustom otp-thinking-modes
  '(elixir-mode
    (elixir-ts-mode :language-id "elixir")
    (heex-ts-mode :language-id "heex"))
  "The major modes eglot manages with otp-thinking.
In the form of the modes part of an `eglot-server-programs' entry."
  :type '(repeat sexp))

(defun otp-thinking--initialization-options (_server)
  "The initializationOptions: `otp-thinking-settings', or an empty JSON object."
  (or otp-thinking-settings (make-hash-table)))

(defun otp-thinking--contact (&optional _interactive)
  "The eglot contact for otp-thinking.
Signal a `user-error' that says how to install the server when it is missing."
  (let ((program (car otp-thinking-command)))
    (unless (and (stringp program)
                 (or (and (file-name-absolute-p program) (file-executable-p program))
                     (executable-find program)))
      (user-error
       (concat "otp-thinking: the server command `%s' was not found.  "
               "Install it with \"pipx install .\" in a clone of otp-thinking (or "
               "\"pip install .\" there, in a Python 3.11+ virtualenv), or set "
               "`otp-thinking-command', e.g. to "
               "(\"/path/to/.venv/bin/python\" \"-m\" \"otp_thinking\" \"lsp\")")
       program))
    (append otp-thinking-command
            (list :initializationOptions #'otp-thinking--initialization-options))))

(defun otp-thinking--our-entry-p (entry)
  "Non-nil when ENTRY of `eglot-server-programs' is the one this file adds."
  (eq (cdr-safe entry) #'otp-thinking--contact))

;;;###autoload
(defun otp-thinking-eglot-register ()
  "Put otp-thinking first in `eglot-server-programs' for `otp-thinking-modes'.
Entries already there for the same modes stay in the list, behind it."
  (interactive)
  (otp-thinking-eglot-unregister)
  (push (cons otp-thinking-modes #'otp-thinking--contact) eglot-server-programs))

(defun otp-thinking-eglot-unregister ()
  "Remove otp-thinking from `eglot-server-programs'.
The other Elixir entries there apply again."
  (interactive)
  (setq eglot-server-programs (cl-remove-if #'otp-thinking--our-entry-p eglot-server-programs)))

(otp-thinking-eglot-register)

(provide 'otp-thinking)
;;; otp-thinking.el ends here

;;; otp-thinking-test.el --- Batch test of otp-thinking.el with eglot and the real server  -*- lexical-binding: t; -*-

;; Run:  emacs --batch -l editors/emacs/test/otp-thinking-test.el
;; Inputs come from the environment (tests/test_editors.py sets them):
;;   OTP_THINKING_CMD       the server command, a JSON list (default ["otp-thinking", "lsp"])
;;   OTP_THINKING_FILE      the Elixir file to open: a copy of examples/, never the original,
;;                          inside a project eglot can find (a git repository)
;;   OTP_THINKING_EXPECTED  a file holding that buffer's text once the OTP101 fix is applied
;;   OTP_THINKING_REPORT    where to write what was seen, as JSON
;; Exits 0 when every check passed, 1 otherwise (with the reason on stderr).

;;; Code:

(require 'cl-lib)
(require 'json)
(require 'subr-x)

(defvar otp-test--started (float-time))
(defvar otp-test--report nil "Alist written as JSON at the end.")
(defvar otp-test--steps nil)
(defvar otp-test--messages nil "What the server showed with window/showMessage.")

(defun otp-test--log (format-string &rest args)
  (let ((line (format "[%6.2fs] %s" (- (float-time) otp-test--started)
                      (apply #'format format-string args))))
    (push line otp-test--steps)
    (princ (concat line "\n") #'external-debugging-output)))

(defun otp-test--note (key value)
  (push (cons key value) otp-test--report))

(defun otp-test--finish (ok reason)
  (otp-test--note 'ok (if ok t :json-false))
  (otp-test--note 'error reason)
  (otp-test--note 'steps (vconcat (reverse otp-test--steps)))
  (let ((path (getenv "OTP_THINKING_REPORT")))
    (when (and path (not (string-empty-p path)))
      (with-temp-file path
        (insert (json-encode otp-test--report)))))
  (if ok
      (otp-test--log "PASS")
    (princ (format "FAIL: %s\n" reason) #'external-debugging-output))
  (kill-emacs (if ok 0 1)))

(defun otp-test--check (condition format-string &rest args)
  (unless condition
    (error "%s" (apply #'format format-string args))))

(defun otp-test--pretend-idle ()
  "Run the idle timers an interactive Emacs runs once the user stops typing.
Batch Emacs is never idle, so without this eglot would never send the
didChange it schedules on an idle timer."
  (dolist (timer (copy-sequence timer-idle-list))
    (timer-event-handler timer)))

(defun otp-test--wait-for (what seconds predicate)
  "Let processes and timers run until PREDICATE is non-nil, or fail after SECONDS."
  (let ((deadline (+ (float-time) seconds)) value)
    (while (and (not (setq value (funcall predicate)))
                (< (float-time) deadline))
      (accept-process-output nil 0.05)
      (otp-test--pretend-idle))
    (otp-test--check value "timed out after %ss waiting for %s" seconds what)
    value))

(defun otp-test--read-file (path)
  (with-temp-buffer
    (insert-file-contents-literally path)
    (decode-coding-region (point-min) (point-max) 'utf-8)
    (buffer-string)))

(defun otp-test--diagnostics (code)
  "Flymake diagnostics from eglot in the current buffer with CODE (any when nil)."
  (cl-remove-if-not
   (lambda (diag)
     (let ((lsp (cdr (assoc 'eglot-lsp-diag (eglot--diag-data diag)))))
       (and lsp
            (equal (plist-get lsp :source) "otp-thinking")
            (or (null code) (equal (plist-get lsp :code) code)))))
   (flymake-diagnostics)))

(defun otp-test--run ()
  (let* ((here (file-name-directory (or load-file-name buffer-file-name)))
         (package-dir (expand-file-name ".." here))
         (cmd-json (getenv "OTP_THINKING_CMD"))
         (command (if (and cmd-json (not (string-empty-p cmd-json)))
                      (append (json-read-from-string cmd-json) nil)
                    '("otp-thinking" "lsp")))
         (file (or (getenv "OTP_THINKING_FILE") (error "OTP_THINKING_FILE is not set")))
         (expected (otp-test--read-file
                    (or (getenv "OTP_THINKING_EXPECTED") (error "OTP_THINKING_EXPECTED is not set"))))
         (before-on-disk (otp-test--read-file file)))
    (otp-test--log "Emacs %s" emacs-version)
    (add-to-list 'load-path package-dir)
    ;; Emacs 28 has no Elixir mode of its own: a stand-in, as a user without elixir-mode
    ;; installed would need one too.
    (unless (fboundp 'elixir-mode)
      (define-derived-mode elixir-mode prog-mode "Elixir")
      (add-to-list 'auto-mode-alist '("\\.exs?\\'" . elixir-mode))
      (otp-test--log "defined a stand-in elixir-mode"))
    (require 'eglot)
    (otp-test--log "eglot %s" (or (ignore-errors (package-get-version))
                                  (file-name-nondirectory
                                   (directory-file-name (file-name-directory (locate-library "eglot"))))))
    (let ((previous (cl-find-if (lambda (entry)
                                  (let ((modes (car entry)))
                                    (if (listp modes) (memq 'elixir-mode modes) (eq modes 'elixir-mode))))
                                eglot-server-programs)))
      (require 'otp-thinking)
      (otp-test--check (eq (cdar eglot-server-programs) #'otp-thinking--contact)
                       "otp-thinking is not the first entry of eglot-server-programs")
      (otp-test--check (or (null previous) (memq previous eglot-server-programs))
                       "the Elixir entry that was there before is gone")
      (otp-test--log "registered first in eglot-server-programs; previous Elixir entry kept: %S"
                     (cdr previous)))
    ;; A command that does not exist: a user-error that says how to install the server.
    (let* ((otp-thinking-command '("/nonexistent/otp-thinking" "lsp"))
           (message (condition-case err (progn (otp-thinking--contact) nil)
                      (user-error (error-message-string err)))))
      (otp-test--check (and message (string-match-p "was not found" message)
                            (string-match-p "pipx install" message))
                       "no useful error for a missing server: %S" message)
      (otp-test--log "missing server command reported: %s" message))
    (setq otp-thinking-command command)
    ;; Rule settings travel as initializationOptions: raise OTP101 to an error.
    (setq otp-thinking-settings '(:rules (:OTP101 "error")))
    (advice-add 'eglot-handle-notification :before
                (lambda (_server method &rest params)
                  (when (eq method 'window/showMessage)
                    (push (plist-get params :message) otp-test--messages))))

    (let ((buffer (find-file file)))
      (switch-to-buffer buffer)
      (otp-test--check (eq major-mode 'elixir-mode) "major mode is %s, not elixir-mode" major-mode)
      (otp-test--log "server: %s" (string-join command " "))
      ;; `eglot-ensure' waits for a command loop that batch mode never runs: start it as M-x eglot would.
      (apply #'eglot (eglot--guess-contact))
      (let ((server (otp-test--wait-for "eglot to connect" 15 #'eglot-current-server)))
        (otp-test--wait-for "the server to initialize" 15
                            (lambda () (eglot--server-capable :codeActionProvider)))
        (otp-test--log "eglot manages %s, project root %s" (buffer-name)
                       (project-root (eglot--project server)))
        (otp-test--check (equal (file-truename (project-root (eglot--project server)))
                                (file-truename (file-name-as-directory
                                                (locate-dominating-file file "mix.exs"))))
                         "project root is not the Mix project")

        (let* ((diagnostic (car (otp-test--wait-for "OTP101 flymake diagnostics" 30
                                                     (lambda () (otp-test--diagnostics "OTP101")))))
               (beg (flymake-diagnostic-beg diagnostic))
               (end (flymake-diagnostic-end diagnostic))
               (covered (buffer-substring-no-properties beg end))
               (line (line-number-at-pos beg)))
          (otp-test--check (= 1 (length (otp-test--diagnostics nil))) "unexpected other otp-thinking diagnostics")
          (otp-test--log "diagnostic OTP101 (%s) on line %d covers %S"
                         (flymake-diagnostic-type diagnostic) line covered)
          (otp-test--note 'diagnostic `((line . ,line) (text . ,covered)
                                        (type . ,(symbol-name (flymake-diagnostic-type diagnostic)))
                                        (message . ,(flymake-diagnostic-text diagnostic))))
          (otp-test--check (string-match-p "\\`Task\\.async(.*)\\'" covered)
                           "the diagnostic does not cover the Task.async call: %S" covered)
          (otp-test--check (eq (flymake-diagnostic-type diagnostic) 'eglot-error)
                           "OTP101 should be an error, as configured, not %s" (flymake-diagnostic-type diagnostic))

          ;; M-x eglot-code-actions at the call; the user takes the default (the preferred fix)
          ;; and answers yes when eglot asks to edit application.ex, which is not visited.
          (goto-char beg)
          (let ((offered nil) (chosen nil) (asked nil))
            (cl-letf (((symbol-function 'completing-read)
                       (lambda (_prompt collection &optional _pred _match _initial _hist default &rest _)
                         (setq offered (mapcar #'car collection))
                         (setq chosen (if (consp default) (car default) default))
                         chosen))
                      ((symbol-function 'y-or-n-p)
                       (lambda (prompt) (push prompt asked) t)))
              (let ((last-nonmenu-event ?\r))
                (call-interactively #'eglot-code-actions)))
            (otp-test--note 'offered (vconcat offered))
            (otp-test--note 'chosen chosen)
            (otp-test--note 'confirmations (vconcat (reverse asked)))
            (otp-test--log "code actions offered: %s" (string-join offered " | "))
            (otp-test--log "chosen (the default): %s" chosen)
            (otp-test--log "eglot asked: %S" (reverse asked))
            (otp-test--check (and chosen (string-prefix-p "Use Task.Supervisor.async_nolink" chosen))
                             "the default action is not the OTP101 fix: %S" chosen))

          (let ((after (buffer-substring-no-properties (point-min) (point-max))))
            (otp-test--note 'buffer after)
            (otp-test--check (equal after expected)
                             "buffer after the fix differs from the expected text:\n%s" after))
          (otp-test--log "buffer now reads: %s"
                         (save-excursion (goto-char (point-min)) (forward-line (1- line))
                                         (buffer-substring-no-properties (line-beginning-position)
                                                                         (line-end-position))))
          (let* ((root (project-root (eglot--project server)))
                 (application (expand-file-name "lib/storefront/application.ex" root))
                 (app-buffer (find-buffer-visiting application)))
            (otp-test--check app-buffer "application.ex was not opened by the workspace edit")
            (with-current-buffer app-buffer
              (otp-test--check (string-match-p (regexp-quote "{Task.Supervisor, name: Storefront.TaskSupervisor},")
                                               (buffer-string))
                               "application.ex buffer lacks the child:\n%s" (buffer-string))
              (otp-test--check (buffer-modified-p) "application.ex should be edited, not saved")
              ;; eglot manages the buffer the edit visited: the server is told of the added
              ;; child, so another fix that needs the supervisor uses it instead of adding it.
              (otp-test--wait-for "eglot to manage application.ex" 10
                                  (lambda () (with-current-buffer app-buffer
                                               (bound-and-true-p eglot--managed-mode))))
              (otp-test--note 'application_managed t))
            (otp-test--log "application.ex buffer gained {Task.Supervisor, name: Storefront.TaskSupervisor}, managed by eglot"))

          ;; eglot sends the change (didChange) and the server drops the finding.
          (otp-test--wait-for "the OTP101 diagnostic to go away" 20
                              (lambda () (null (otp-test--diagnostics "OTP101"))))
          (otp-test--log "OTP101 diagnostic cleared after the edit")
          (otp-test--check (null otp-test--messages) "the server showed messages: %S" otp-test--messages)
          (otp-test--check (equal (otp-test--read-file file) before-on-disk)
                           "the file on disk changed: the edit should stay in the buffer")
          (ignore-errors (eglot-shutdown server)))))))

(run-at-time 90 nil (lambda () (otp-test--finish nil "the whole test took more than 90 s")))
(defun otp-test--events-tail ()
  "The end of eglot's events buffer, to see what was said when a check failed."
  (let ((server (ignore-errors (eglot-current-server))))
    (when server
      (with-current-buffer (jsonrpc-events-buffer server)
        (buffer-substring-no-properties (max (point-min) (- (point-max) 6000)) (point-max))))))

(condition-case err
    (progn (otp-test--run) (otp-test--finish t nil))
  (error
   (let ((events (otp-test--events-tail)))
     (when events
       (otp-test--note 'events events)
       (princ (concat "eglot events (end):\n" events "\n") #'external-debugging-output)))
   (otp-test--finish nil (error-message-string err))))

;;; otp-thinking-test.el ends here

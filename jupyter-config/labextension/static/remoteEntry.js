/*
 * coursenet-lab: a JupyterLab 4 extension written by hand (no build step), one
 * plugin with no dependencies. It is a module-federation container, the form
 * JupyterLab loads prebuilt extensions in: window._JUPYTERLAB[name] with
 * init() and get('./extension').
 *
 * What it fixes: JupyterLab opens every local link in rendered Markdown as a
 * file, so a link to a folder (START_HERE.md's `student/` and `notebooks/`)
 * ends in an error dialog ("... is a directory"). This plugin sees a click on
 * such a link first, asks the server what the target is, and opens a folder
 * in the file browser (the command `filebrowser:go-to-path`); anything else
 * goes on to JupyterLab's own handler (`rendermime:handle-local-link`) with
 * the same arguments, so links to files behave exactly as before.
 *
 * And a read-only document (the worked solutions: see coursenet/lab.py) is
 * marked in its tab, not only in its toolbar: a padlock before the label, on
 * a tinted tab, so that a solution and its workbook, which have the same file
 * name, cannot be taken for each other even when many tabs shrink their
 * labels to a few letters (the padlock comes first and does not shrink).
 */
(function () {
  'use strict';

  function baseUrl() {
    var el = document.getElementById('jupyter-config-data');
    var config = el ? JSON.parse(el.textContent || '{}') : {};
    var base = config.baseUrl || '/';
    return base.endsWith('/') ? base : base + '/';
  }

  // The server path a rendered local link points at, or null. JupyterLab has
  // rewritten the href of a local link to the file's download URL,
  // <baseUrl>files/<path>, when it rendered the Markdown.
  function localPath(anchor) {
    if (anchor.hasAttribute('download')) {
      return null;
    }
    var url;
    try {
      url = new URL(anchor.href, window.location.href);
    } catch (err) {
      return null;
    }
    var prefix = baseUrl() + 'files/';
    if (url.origin !== window.location.origin || !url.pathname.startsWith(prefix)) {
      return null;
    }
    var path = decodeURIComponent(url.pathname.slice(prefix.length));
    return { path: path.replace(/\/+$/, ''), id: url.hash || undefined };
  }

  var READ_ONLY_TAB = 'coursenet-mod-readOnly';
  // a padlock (drawn here, no icon package needed) before the label of a
  // read-only tab, on a tinted tab: it stays visible when the label shrinks
  var LOCK = "data:image/svg+xml," + encodeURIComponent(
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>" +
    "<path d='M4.5 7.5V5a3.5 3.5 0 0 1 7 0v2.5' fill='none' stroke='#e65100'" +
    " stroke-width='2'/><rect x='2' y='7' width='12' height='8.5' rx='1.5'" +
    " fill='#e65100'/></svg>");
  var STYLE = [
    '.lm-TabBar-tab.' + READ_ONLY_TAB + ' {',
    '  background: var(--jp-warn-color3, #fff3e0);',
    '  box-shadow: inset 0 -2px 0 var(--jp-warn-color1, #f57c00);',
    '}',
    '.lm-TabBar-tab.' + READ_ONLY_TAB + ' .lm-TabBar-tabLabel::before {',
    '  content: "";',
    '  display: inline-block;',
    '  width: 11px;',
    '  height: 11px;',
    '  margin-right: 4px;',
    '  vertical-align: -1px;',
    '  background: url("' + LOCK + '") no-repeat center / contain;',
    '}',
    // JupyterLab breaks output lines anywhere (word-break: break-all), so a
    // long check message read "ev ery": break between words, and inside a
    // word only when it alone is wider than the output
    '.jp-OutputArea .jp-OutputArea-output pre {',
    '  word-break: normal;',
    '  overflow-wrap: anywhere;',
    '}'
  ].join('\n');

  function markReadOnly(widget) {
    var model = widget.context && widget.context.contentsModel;
    var readOnly = !!model && model.writable === false;
    var classes = widget.title.className.split(/\s+/).filter(function (c) {
      return c && c !== READ_ONLY_TAB;
    });
    if (readOnly) {
      classes.push(READ_ONLY_TAB);
    }
    var className = classes.join(' ');
    if (className !== widget.title.className) {
      widget.title.className = className;
    }
  }

  function watchTabs(app) {
    var style = document.createElement('style');
    style.id = 'coursenet-lab-style';
    style.textContent = STYLE;
    document.head.appendChild(style);
    var watched = new WeakSet();
    function watch() {
      for (var widget of app.shell.widgets('main')) {
        var context = widget.context;
        if (!context || !context.ready || watched.has(widget)) {
          continue;
        }
        watched.add(widget);
        var update = markReadOnly.bind(null, widget);
        context.ready.then(update);
        context.fileChanged.connect(update);
        context.pathChanged.connect(update);
      }
    }
    app.shell.layoutModified.connect(watch);
    app.restored.then(watch);
  }

  var plugin = {
    id: 'coursenet-lab:folder-links',
    description: 'Folder links open the folder in the file browser; read-only tabs are marked.',
    autoStart: true,
    activate: function (app) {
      watchTabs(app);
      document.addEventListener('click', function (event) {
        if (event.button !== 0 || !(event.target instanceof Element)) {
          return;
        }
        var anchor = event.target.closest('.jp-RenderedHTMLCommon a[href]');
        var target = anchor && localPath(anchor);
        if (!target) {
          return;
        }
        // capture phase, on the document: JupyterLab's listener on the link
        // itself never sees this click; we decide what it opens
        event.preventDefault();
        event.stopPropagation();
        app.serviceManager.contents.get(target.path, { content: false })
          .then(function (model) { return model.type === 'directory'; },
                function () { return false; })
          .then(function (isFolder) {
            if (isFolder) {
              return app.commands.execute('filebrowser:go-to-path',
                                          { path: target.path });
            }
            var args = { path: target.path };
            if (target.id) {
              args.id = target.id;
            }
            return app.commands.execute('rendermime:handle-local-link', args);
          })
          .catch(function (err) {
            console.error('coursenet-lab: could not open ' + target.path, err);
          });
      }, true);
    }
  };

  var container = {
    init: function () {},
    get: function (module) {
      if (module !== './extension') {
        return Promise.reject(new Error('coursenet-lab has no module ' + module));
      }
      return Promise.resolve(function () {
        return { __esModule: true, default: [plugin] };
      });
    }
  };
  window._JUPYTERLAB = window._JUPYTERLAB || {};
  window._JUPYTERLAB['coursenet-lab'] = container;
})();

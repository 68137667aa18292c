// Starts Swagger UI on the server's own OpenAPI document. It lives in a file,
// not inline, because the Content-Security-Policy allows only same-origin
// scripts. validatorUrl: null keeps Swagger UI from calling
// validator.swagger.io: the reference works offline.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
  });
});
